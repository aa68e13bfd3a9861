package web_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
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

	tab, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	httpOnly := true
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			page, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.documentElement.outerHTML`))
			t.Fatalf("%s: %v\npage: %s", what, err, page)
		}
	}
	do("opening insights",
		chromedp.EmulateViewport(1280, 1700),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sue.cookie.Name, Value: sue.cookie.Value,
				URL: s.URL, HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax})
			return err
		}),
		chromedp.Navigate(s.URL+"/insights?from="+from+"&to="+to),
		until(`document.querySelectorAll("#chart-day rect.bar").length === 14 &&
			document.querySelectorAll("#chart-dispositions rect.bar").length === 4 &&
			document.querySelector("#chart-sl path.line") !== null`),
	)
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "insights.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The form filters: SMS only, the same range.
	do("filtering to SMS",
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
