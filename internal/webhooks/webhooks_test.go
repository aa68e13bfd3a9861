package webhooks

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

func TestRequestsAreSignedTheWayTwilioGoValidates(t *testing.T) {
	const token = "s3cr3tT0ken"
	params := url.Values{"EventType": {"onMessageAdded"}, "Body": {"hé & ok?"}, "Attributes": {`{"a":1}`}}
	v := twclient.NewRequestValidator(token)
	for _, tc := range []struct{ method, target string }{
		{"POST", "https://hooks.example.com"},
		{"POST", "https://hooks.example.com/conv"},
		{"POST", "https://hooks.example.com/conv?tenant=7"},
		{"GET", "https://hooks.example.com/conv"},
		{"GET", "https://hooks.example.com/conv?tenant=7"},
	} {
		req, err := Request(context.Background(), tc.method, tc.target, params, token, "tok-1")
		if err != nil {
			t.Fatal(err)
		}
		sig := req.Header.Get("X-Twilio-Signature")
		var ok bool
		if tc.method == "POST" {
			body, _ := io.ReadAll(req.Body)
			ok = v.ValidateBody(req.URL.String(), body, sig)
			if !strings.HasPrefix(req.URL.String(), tc.target) || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("%s %s: url %s, content type %q", tc.method, tc.target, req.URL, req.Header.Get("Content-Type"))
			}
		} else {
			ok = v.Validate(req.URL.String(), map[string]string{}, sig)
			if req.URL.Query().Get("Body") != "hé & ok?" || (strings.Contains(tc.target, "tenant") && req.URL.Query().Get("tenant") != "7") {
				t.Errorf("%s %s: query %s", tc.method, tc.target, req.URL.RawQuery)
			}
		}
		if !ok {
			t.Errorf("%s %s: twilio-go rejects the signature", tc.method, tc.target)
		}
		if req.Header.Get("I-Twilio-Idempotency-Token") != "tok-1" {
			t.Errorf("%s %s: no idempotency token", tc.method, tc.target)
		}
	}
}

func TestAmendmentReadsTheDocumentedFields(t *testing.T) {
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	cases := []struct {
		name, body string
		want       map[string]string // field → value; unlisted fields stay nil
		wantErr    bool
	}{
		{"an empty answer changes nothing", "", nil, false},
		{"message fields", `{"body":"b","author":"a","attributes":"{\"x\":1}"}`,
			map[string]string{"body": "b", "author": "a", "attributes": `{"x":1}`}, false},
		{"attributes given as an object", `{"attributes":{"x":1}}`, map[string]string{"attributes": `{"x":1}`}, false},
		{"conversation fields in either spelling, timers nested", `{"FriendlyName":"f","unique_name":"u","state":"inactive","timers":{"inactive":"PT1M","closed":"PT10M"}}`,
			map[string]string{"friendly": "f", "unique": "u", "state": "inactive", "inactive": "PT1M", "closed": "PT10M"}, false},
		{"timers in dotted form", `{"timers.closed":"PT1H"}`, map[string]string{"closed": "PT1H"}, false},
		{"null means unchanged", `{"body":null,"attributes":null}`, nil, false},
		{"not a JSON object", `OK`, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			am, err := amendment([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			got := map[string]string{"body": str(am.Body), "author": str(am.Author), "attributes": str(am.Attributes),
				"friendly": str(am.FriendlyName), "unique": str(am.UniqueName), "state": str(am.State),
				"inactive": str(am.TimerInactive), "closed": str(am.TimerClosed)}
			for k, v := range got {
				want, ok := tc.want[k]
				if !ok {
					want = "<nil>"
				}
				if v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
		})
	}
}

func TestTriggerKeywordsMatchWholeWordsIgnoringCase(t *testing.T) {
	cases := []struct {
		body string
		want bool
	}{
		{"I need HELP now", true},
		{"help", true},
		{"help!", true},
		{"helpful", false},
		{"please call me back", true},
		{"call mentor", false},
		{"nothing here", false},
	}
	for _, tc := range cases {
		if got := triggered(tc.body, []string{"help", "call me", " "}); got != tc.want {
			t.Errorf("triggered(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func TestEgressGuardDecidesWhetherALoopbackTargetIsDelivered(t *testing.T) {
	cases := []struct {
		name       string
		allow      []netip.Prefix
		wantCalls  int64
		wantFailed bool
	}{
		{"refused for good without an allowance", nil, 0, true},
		{"delivered when 127.0.0.0/8 is allowed", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				var calls atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
				defer srv.Close()
				accounts := auth.NewStore(d)
				acct, err := accounts.EnsureAccount(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
					t.Fatal(err)
				}
				e := conversations.New(d, acct.Sid)
				runner := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
				s := New(d, accounts, Options{AllowPrivate: tc.allow})
				s.Attach(e)
				s.RegisterJobs(runner)

				post, filters := srv.URL+"/hook", []string{"onMessageAdded"}
				if _, err := e.UpdateWebhookConfig(ctx, "", conversations.WebhookConfigParams{PostWebhookURL: &post, Filters: filters}); err != nil {
					t.Fatal(err)
				}
				svc, err := e.ResolveService(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				c, err := e.CreateConversation(ctx, svc.Sid, conversations.ConversationParams{})
				if err != nil {
					t.Fatal(err)
				}
				body := "hi"
				if _, err := e.AddMessage(ctx, svc.Sid, c.Sid, conversations.MessageParams{Body: &body, Source: "SMS"}); err != nil {
					t.Fatal(err)
				}
				if _, err := runner.RunDue(ctx); err != nil {
					t.Fatal(err)
				}
				failed, err := jobs.Failed(ctx, d, 10)
				if err != nil {
					t.Fatal(err)
				}
				if calls.Load() != tc.wantCalls || (len(failed) == 1) != tc.wantFailed {
					t.Fatalf("receiver calls = %d, failed jobs = %v", calls.Load(), failed)
				}
				if tc.wantFailed && !strings.Contains(failed[0].LastError, "refusing to connect to 127.0.0.1") {
					t.Fatalf("last error = %q, want the guard's refusal", failed[0].LastError)
				}
			})
		})
	}
}
