package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// TestBrowserInsightsDrawsAMonthOfDemoHistory opens the dashboard over
// the demo history in Chromium, filters it to one channel through the form
// and, with UPDATE_SCREENSHOTS=1, saves docs/screenshots/insights.png.
func TestBrowserInsightsDrawsAMonthOfDemoHistory(t *testing.T) {
	ctx := browser(t)
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	sue := signInSupervisor(t, s)
	signInAgent(t, s, "ana@example.com", "Ana Lima")
	signInAgent(t, s, "ben@example.com", "Ben Ortiz")
	ws := sue.staff.WorkspaceSid
	bg := context.Background()
	sales, target := "Sales", "1==1"
	if _, err := s.TaskRouter.CreateTaskQueue(bg, ws, taskrouter.TaskQueueParams{FriendlyName: &sales, TargetWorkers: &target}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ code, label string }{{"resolved", "Resolved"}, {"follow-up", "Needs follow-up"},
		{"sale", "Sale made"}, {"no-reply", "Customer went quiet"}} {
		if _, err := s.Desk.CreateDisposition(bg, desk.DispositionParams{WorkspaceSid: &ws, Code: &d.code, Label: &d.label}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if err := insights.SeedDemo(bg, s.DB, ws, 28, now); err != nil {
		t.Fatal(err)
	}
	from, to := now.AddDate(0, 0, -14).Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly)

	tab := openStaffTab(t, ctx, s, sue, tabSetup{width: 1280, height: 1700}, "/insights?from="+from+"&to="+to,
		`document.querySelectorAll("#chart-day rect.bar").length === 14 &&
			document.querySelectorAll("#chart-dispositions rect.bar").length === 4 &&
			document.querySelector("#chart-sl path.line") !== null`)
	tab.screenshot("insights")

	// The form filters: SMS only, the same range.
	tab.do("filtering to SMS",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.querySelector("[data-testid=filter-channel]");
			s.value = [...s.options].find(o => o.textContent === "SMS").value;
		})()`),
		chromedp.Click(chromedp.CSS("[data-testid=filters] button[type=submit]")),
		untilAfterNavigation(`location.search.includes("channel=TC") && document.querySelector("[data-testid=filter-channel]").selectedOptions[0].textContent === "SMS" &&
			document.querySelectorAll("[data-testid=table-channels] tbody tr").length === 1 &&
			document.querySelector("[data-testid=filter-from]").value === "`+from+`"`),
	)
}
