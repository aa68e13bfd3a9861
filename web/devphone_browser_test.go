package web_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// chromiumPath is Debian's Chromium, which the browser tests drive.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium for t, or skips t without one, except
// in CI, which must run the browser tests.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing, and CI must run the browser tests (apt-get install chromium)", chromiumPath)
		}
		t.Skipf("browser test skipped: %s is missing (apt-get install chromium)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // required as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first Run starts the browser; it gets no timeout, which would
	// end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// until polls a JavaScript condition on the page.
func until(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))(ctx, t)
		return chromedp.Void{}, err
	}
}

func TestBrowserPhoneTextsAndSeesTheAPIReplyLiveWithTicks(t *testing.T) {
	ctx := browser(t)
	s := startPhoneServer(t, dbtest.Open(t, db.SQLite), true)
	tw := s.Twilio.ConversationsV1

	for _, tc := range []struct {
		name, sender, text, reply string
		// the reply's final ticks: delivered on SMS, which has no read
		// receipts; read (blue) on WhatsApp once the page showed it
		finalTicks string
	}{
		{"SMS", phoneSMSSender, "Hi, is my order shipped?", "Yes, it left today.", `b.dataset.status === "delivered" && b.querySelector(".ticks").textContent === "✓✓" && !b.querySelector(".ticks.read")`},
		{"WhatsApp", phoneWhatsAppSender, "And the invoice?", "Attached <soon>", `b.dataset.status === "read" && b.querySelector(".ticks.read") !== null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := s.URL + "/dev/phone?" + url.Values{"phone": {customer}, "sender": {tc.sender}, "name": {"Ada"}}.Encode()
			err := chromedp.Do(ctx,
				chromedp.Navigate(page),
				until(`document.querySelector("[data-testid=phone]") !== null`),
				chromedp.SendKeys(chromedp.CSS(`#composer input[name=body]`), tc.text+kb.Enter),
				until(`[...document.querySelectorAll("#thread .bubble.inbound")].some(b =>
					b.textContent.includes(`+jsString(tc.text)+`) && b.dataset.status === "accepted")`),
				until(`document.querySelector("#composer input[name=body]").value === ""`),
			)
			if err != nil {
				t.Fatalf("texting from the page: %v", err)
			}

			convs, err := tw.ListConversation(&conv.ListConversationParams{})
			if err != nil {
				t.Fatal(err)
			}
			var sid string
			for _, c := range convs {
				parts, err := tw.ListConversationParticipant(*c.Sid, &conv.ListConversationParticipantParams{})
				if err != nil {
					t.Fatal(err)
				}
				if len(parts) == 1 && object(t, parts[0].MessagingBinding)["proxy_address"] == tc.sender {
					sid = *c.Sid
				}
			}
			if sid == "" {
				t.Fatalf("no conversation with the phone on %s", tc.sender)
			}
			if _, err := tw.CreateConversationMessage(sid, (&conv.CreateConversationMessageParams{}).SetAuthor("agent").SetBody(tc.reply)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Jobs.RunDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			err = chromedp.Do(ctx, until(`[...document.querySelectorAll("#thread .bubble.outbound")].some(b =>
				b.querySelector(".bubble-body").textContent === `+jsString(tc.reply)+` && `+tc.finalTicks+`)`))
			if err != nil {
				html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("#thread")))
				t.Fatalf("the reply did not arrive with its ticks: %v\n%s", err, html)
			}
		})
	}
}

// jsString quotes s as a JavaScript string literal (JSON strings are).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
