package web_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// openRoutingTab signs a browser tab in as a and opens an admin routing
// page.
func openRoutingTab(t *testing.T, browserCtx context.Context, s *webtest.Server, a deskAgent, path string) deskTab {
	t.Helper()
	return openStaffTab(t, browserCtx, s, a, tabSetup{width: 1360, height: 940}, path,
		`document.getElementById("admin-content") !== null && typeof htmx !== "undefined"`)
}

// setField replaces a field's value as a paste would, without events: the
// keys typed next fire them.
func setField(d deskTab, selector, value string) {
	d.t.Helper()
	sel, _ := json.Marshal(selector)
	val, _ := json.Marshal(value)
	d.eval("setting "+selector, `document.querySelector(`+string(sel)+`).value = `+string(val))
}

func TestBrowserAdminValidatesAQueueTargetAsTheyTypeAndPreviewsAnUnsavedWorkflow(t *testing.T) {
	ctx := browser(t)
	first := true
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		shots := first
		first = false
		s := webtest.Start(t, d)
		bg := context.Background()
		ada := adminSignIn(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
		anna := adminSignIn(t, s, "anna@example.com", "Anna")
		ben := adminSignIn(t, s, "ben@example.com", "Ben")
		adminSignIn(t, s, "sue@example.com", "Sue", auth.RoleSupervisor)
		tr, wsSid := s.TaskRouter, ada.staff.WorkspaceSid
		for _, p := range []struct {
			a deskAgent
			p taskrouter.WorkerProfile
		}{
			{anna, taskrouter.WorkerProfile{Skills: []string{"support"}, Levels: map[string]int{"support": 3}, Team: "Blue"}},
			{ben, taskrouter.WorkerProfile{Skills: []string{"support", "sales"}, Levels: map[string]int{"support": 5, "sales": 4},
				Team: "Red", Capacity: map[string]int{"chat": 2}}},
		} {
			if _, err := tr.UpdateWorkerProfile(bg, wsSid, p.a.staff.WorkerSid, p.p); err != nil {
				t.Fatal(err)
			}
		}
		anna.available()
		ben.available()

		// The queue's target, typed: first a mistake, then who it selects.
		tab := openRoutingTab(t, ctx, s, ada, "/admin/queues")
		target := `#admin-content input[name=target_workers]`
		setField(tab, target, "")
		tab.do("typing a target with a mistake", chromedp.Click(chromedp.CSS(target)), chromedp.SendKeys(chromedp.CSS(target), "routing.skills HAS"))
		tab.wait("the mistake shows", `document.querySelector("#target-check .field-error")?.textContent.includes("position")`)
		tab.do("finishing it", chromedp.SendKeys(chromedp.CSS(target), " 'support' AND routing.levels.support >= 4"))
		tab.wait("who it selects shows", `document.querySelector("#target-check .field-ok")?.textContent === "Selects 1 of 4 workers now: Ben"`)
		tab.eval("naming the queue", `document.querySelector("#admin-content input[name=friendly_name]").value = "Senior support"`)
		tab.do("adding the queue", chromedp.Click(chromedp.CSS(`[data-testid=queue-form] button[type=submit]`)))
		tab.wait("the queue is listed", `document.querySelector("#admin-content table").textContent.includes("Senior support")
			&& document.querySelector("#notice").textContent.includes("Queue Senior support saved")`)
		// A refusal says why in the page's notice and keeps what was typed.
		tab.eval("renaming it as the Everyone queue", `document.querySelector("#admin-content input[name=friendly_name]").value = "Everyone"`)
		tab.do("saving the clash", chromedp.Click(chromedp.CSS(`[data-testid=queue-form] button[type=submit]`)))
		tab.wait("the refusal shows", `document.querySelector("#notice .failed")?.textContent.includes("already exists")
			&& document.querySelector("#admin-content input[name=friendly_name]").value === "Everyone"`)
		tab.eval("naming it back", `document.querySelector("#admin-content input[name=friendly_name]").value = "Senior support"`)
		if shots {
			tab.screenshot("admin-queues")
		}
		qs, _, err := tr.TaskQueues(bg, wsSid, taskrouter.TaskQueueFilter{FriendlyName: "Senior support"}, taskrouter.Page{Limit: 1})
		if err != nil || len(qs) != 1 {
			t.Fatalf("Senior support: %v %v", qs, err)
		}
		everyone, _, _ := tr.TaskQueues(bg, wsSid, taskrouter.TaskQueueFilter{FriendlyName: "Everyone"}, taskrouter.Page{Limit: 1})

		// The workflow editor with a configuration not saved: the preview follows what is typed.
		wfs, _, _ := tr.Workflows(bg, wsSid, "", taskrouter.Page{Limit: 1})
		tab.do("opening the workflow", chromedp.Navigate(s.URL+"/admin/workflows?edit="+wfs[0].Sid))
		tab.wait("the editor and its first preview", `document.querySelector("[data-testid=preview-queue]")?.textContent.includes("Everyone")`)
		cfg := `{
  "task_routing": {
    "filters": [
      {
        "filter_friendly_name": "Urgent support",
        "expression": "type == 'support' AND urgent == true",
        "targets": [
          { "queue": "` + qs[0].Sid + `", "priority": 10, "timeout": 30, "order_by": "worker.routing.levels.support DESC" },
          { "queue": "` + everyone[0].Sid + `" }
        ]
      }
    ],
    "default_filter": { "queue": "` + everyone[0].Sid + `" }
  }
}`
		config := `#admin-content textarea[name=configuration]`
		setField(tab, config, `{"task_routing": {`)
		tab.do("breaking the configuration", chromedp.Click(chromedp.CSS(config)), chromedp.SendKeys(chromedp.CSS(config), " "))
		tab.wait("the editor says where", `document.querySelector("#config-check .field-error")?.textContent.includes("line 1")`)
		setField(tab, config, cfg)
		tab.do("pasting a configuration", chromedp.SendKeys(chromedp.CSS(config), " "))
		tab.wait("the editor accepts it", `document.querySelector("#config-check .field-ok") !== null`)
		attrs := `#admin-content textarea[name=attributes]`
		setField(tab, attrs, "")
		tab.do("typing task attributes", chromedp.Click(chromedp.CSS(attrs)),
			chromedp.SendKeys(chromedp.CSS(attrs), `{"type": "support", "urgent": true, "customer": "Ada"}`))
		tab.wait("the preview picks the filter, the queue and the workers", `(() => {
			const p = document.getElementById("preview");
			const workers = [...p.querySelectorAll("[data-testid=preview-workers] li")].map(li => li.textContent);
			return p.querySelector("[data-testid=preview-filter]")?.textContent.includes("Urgent support")
				&& p.querySelector("[data-testid=preview-queue]")?.textContent.includes("Senior support")
				&& workers.length === 1 && workers[0].includes("Ben") && workers[0].includes("offered first");
		})()`)
		if shots {
			tab.screenshot("admin-workflow-preview")
		}
		// Nothing was saved by previewing.
		if wf, _ := tr.Workflow(bg, wsSid, wfs[0].Sid); wf.Configuration != wfs[0].Configuration {
			t.Fatal("the preview saved the configuration")
		}

		// Workspace and channels: a change lands, a refusal says why.
		tab.do("opening the workspace", chromedp.Navigate(s.URL+"/admin/workspace"))
		tab.wait("the workspace page", `document.querySelector("[data-testid=activities]") !== null`)
		tab.eval("naming a new activity", `document.querySelector(".inline-form input[name=friendly_name]").value = "Lunch"`)
		tab.do("adding it", chromedp.Click(chromedp.CSS(`.inline-form button[type=submit]`)))
		tab.wait("it is listed", `[...document.querySelectorAll("[data-testid=activities] input[name=friendly_name]")].some(i => i.value === "Lunch")`)
		tab.do("opening the task channels", chromedp.Navigate(s.URL+"/admin/channels"))
		tab.wait("the channels page", `document.querySelector("[data-channel=chat]") !== null`)
		tab.eval("a short abandon longer than the service level", `document.querySelector("[data-channel=chat] input[name=short_abandon_seconds]").value = "90"`)
		tab.do("saving chat", chromedp.Click(chromedp.CSS(`[data-channel=chat] button[type=submit]`)))
		tab.wait("the refusal shows", `document.querySelector("#notice .failed")?.textContent.includes("shorter than")`)
		if chat, _ := tr.TaskChannel(bg, wsSid, "chat"); chat.ShortAbandonSeconds != taskrouter.DefaultShortAbandonSeconds {
			t.Fatalf("a refused save changed chat: %+v", chat)
		}

		tab.do("opening the users", chromedp.Navigate(s.URL+"/admin/users?edit="+ben.staff.Sid))
		tab.wait("the users and Ben's form", `document.querySelector("[data-testid=user-form] input[name=levels]")?.value === "sales=4, support=5"`)
		if shots {
			tab.screenshot("admin-users")
		}
	})
}
