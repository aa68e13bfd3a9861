package web_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
	webchatview "github.com/switchboardhq/switchboard/views/webchat"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// openAdminTab signs a browser tab in as the member of staff a, lets the
// page use the clipboard, and opens path.
func openAdminTab(t *testing.T, browserCtx context.Context, s *webtest.Server, a deskAgent, path string) deskTab {
	t.Helper()
	return openStaffTab(t, browserCtx, s, a, tabSetup{width: 1280, height: 900, permissions: []string{"clipboard-read", "clipboard-write"}},
		path, `document.getElementById("adminint-body") !== null`)
}

func TestBrowserAdminCreatesAWebchatDeploymentAndCopiesItsSnippet(t *testing.T) {
	ctx := browser(t)
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	chatAddress(t, s, "website")
	tab := openAdminTab(t, ctx, s, adminIntAdmin(t, s), "/admin/webchat")

	// A refused form says why in the page, keeps what was typed, and makes nothing.
	tab.eval("filling in the form with a bad origin", `(() => {
		const f = document.querySelector("[data-testid=deployment-form]");
		f.friendly_name.value = "Main website";
		f.title.value = "Talk to us";
		f.allowed_origins.value = "www.example.com/shop?x=1";
		const sel = f.address_configuration_sid;
		sel.value = sel.options[1].value;
	})()`)
	tab.do("submitting", chromedp.Click(chromedp.CSS(`[data-testid=deployment-form] button[type=submit]`)))
	tab.wait("the form says why", `document.querySelector("[data-testid=form-error]")?.textContent.includes("www.example.com/shop?x=1")
		&& document.querySelector("[data-testid=deployment-form]").friendly_name.value === "Main website"`)
	if rows, _, _ := s.Webchat.Deployments(t.Context(), conversations.Page{Limit: 5}); len(rows) != 0 {
		t.Fatalf("a refused form made %+v", rows)
	}

	tab.wait("htmx settled", htmxIdle)
	tab.eval("fixing the origin", `document.querySelector("[data-testid=deployment-form]").allowed_origins.value = "https://www.example.com"`)
	tab.do("submitting again", chromedp.Click(chromedp.CSS(`[data-testid=deployment-form] button[type=submit]`)))
	tab.wait("the snippet shows", `document.querySelector("[data-testid=snippet] pre")?.textContent.includes("data-deployment-key")
		&& location.search.startsWith("?edit=WD")`)
	rows, _, err := s.Webchat.Deployments(t.Context(), conversations.Page{Limit: 5})
	if err != nil || len(rows) != 1 {
		t.Fatalf("deployments %+v %v", rows, err)
	}
	want := webchatview.Snippet(s.URL+"/static/webchat.js", rows[0].Key)
	got, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`document.getElementById("embed-snippet").textContent`))
	if err != nil || got != want {
		t.Fatalf("the snippet is %q (%v), want %q", got, err, want)
	}
	tab.wait("the notice says it was created", `document.querySelector("#notice")?.textContent.includes("Deployment created")`)
	tab.screenshot("admin-webchat")

	tab.do("copying the snippet", chromedp.Click(chromedp.CSS(`[data-copy="#embed-snippet"]`)))
	tab.wait("the button says copied", `document.querySelector("[data-copy='#embed-snippet']").textContent === "Copied"`)
	copied, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || copied != want {
		t.Fatalf("the clipboard holds %q (%v), want the snippet", copied, err)
	}

	// A new API key's secret shows once, beside its copy button.
	tab.do("opening the keys", chromedp.Navigate(s.URL+"/admin/keys"), until(`document.querySelector("[data-testid=key-form]") !== null`))
	tab.eval("naming the key", `document.querySelector("[data-testid=key-form]").friendly_name.value = "CRM integration"`)
	tab.do("creating the key", chromedp.Click(chromedp.CSS(`[data-testid=key-form] button[type=submit]`)))
	tab.wait("the secret shows", `/^[A-Za-z0-9]{32}$/.test(document.querySelector("[data-testid=secret]")?.textContent ?? "")`)
	tab.screenshot("admin-keys")
	tab.do("reloading", chromedp.Navigate(s.URL+"/admin/keys"), until(`document.querySelector("[data-testid=keys]") !== null`))
	tab.wait("the secret is gone", `document.querySelector("[data-testid=secret]") === null`)

	// Numbers: the account's secret stays write-only in the browser too.
	const token = "browserAuthToken0123456789abcdef"
	acct, err := s.Channels.CreateProvider(t.Context(), channels.ProviderParams{Kind: new(channels.KindTwilio), FriendlyName: new("US numbers"),
		AccountID: new("AC0123456789abcdef0123456789abcdef"), Secret: new(token)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Channels.PutSender(t.Context(), channels.SenderParams{Address: "+15550001111", ProviderSid: acct.Sid}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Engine.CreateAddressConfiguration(t.Context(), conversations.AddressConfigurationParams{Type: new("sms"),
		Address: new("+15550001111"), FriendlyName: new("Support line"), AutoCreationEnabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	tab.do("opening the numbers", chromedp.Navigate(s.URL+"/admin/numbers?provider="+acct.Sid),
		until(`document.querySelector("[data-testid=senders]") !== null`))
	html, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil || strings.Contains(html, token) || !strings.Contains(html, "Support line") {
		t.Fatalf("the numbers page (%v) shows the secret or not the sender's address configuration", err)
	}
	tab.screenshot("admin-numbers")

	// Failed jobs: retry one from the page and the runner picks it up.
	fixed := false
	s.Jobs.Handle("test.browser-hook", func(ctx context.Context, payload string) error {
		if !fixed {
			return jobs.Permanent(errors.New("POST https://hooks.example.com/in answered 503"))
		}
		return nil
	})
	if err := s.DB.InTx(t.Context(), func(tx *db.Tx) error {
		return jobs.Enqueue(tx, "test.browser-hook", `{"url":"https://hooks.example.com/in","event":"onMessageAdded","params":{"Body":"hi"}}`, s.Jobs.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Jobs.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	tab.do("opening the failed jobs", chromedp.Navigate(s.URL+"/admin/jobs"), until(`document.querySelector("[data-testid=failed-jobs]") !== null`))
	tab.screenshot("admin-jobs")
	fixed = true
	tab.do("retrying", chromedp.Click(chromedp.CSS(`[data-testid=failed-jobs] tbody button`)))
	tab.wait("the list is empty", `document.querySelector("[data-testid=no-failed-jobs]") !== null`)
	if n, err := s.Jobs.RunDue(t.Context()); n != 1 || err != nil {
		t.Fatalf("after the retry RunDue ran %d (%v)", n, err)
	}
}
