package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// hookRequest is one webhook request a receiver got.
type hookRequest struct {
	Method string
	Path   string
	Params url.Values
	Header http.Header
	Signed bool // X-Twilio-Signature checked out with twilio-go's validator
}

// receiver is a webhook endpoint on 127.0.0.1 that checks every request
// the way a Twilio customer's server would (twilio-go's RequestValidator)
// and answers what the test says.
type receiver struct {
	URL       string
	validator twclient.RequestValidator
	mu        sync.Mutex
	got       []hookRequest
	// answer decides the reply to the n-th request (from 0); nil means 200.
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, s *webtest.Server) *receiver {
	t.Helper()
	rc := &receiver{validator: twclient.NewRequestValidator(s.AuthToken)}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	full := "http://" + r.Host + r.URL.RequestURI()
	sig := r.Header.Get("X-Twilio-Signature")
	signed := false
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			params = r.PostForm
			flat := map[string]string{}
			for k := range params {
				flat[k] = params.Get(k)
			}
			signed = rc.validator.Validate(full, flat, sig)
		}
	} else {
		signed = rc.validator.Validate(full, map[string]string{}, sig)
	}
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, hookRequest{Method: r.Method, Path: r.URL.Path, Params: params, Header: r.Header.Clone(), Signed: signed})
	answer := rc.answer
	rc.mu.Unlock()
	if answer != nil {
		answer(n, w, r)
	}
}

// requests returns what the receiver got so far, failing on any request
// whose signature did not validate.
func (rc *receiver) requests(t *testing.T) []hookRequest {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, r := range rc.got {
		if !r.Signed {
			t.Fatalf("a %s request to %s failed twilio-go's signature validation: %v", r.Params.Get("EventType"), r.Path, r.Params)
		}
	}
	return append([]hookRequest(nil), rc.got...)
}

// events lists the EventType of each request.
func (rc *receiver) events(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range rc.requests(t) {
		out = append(out, r.Params.Get("EventType"))
	}
	return out
}

// runJobs runs every due job, delivering the post-events.
func runJobs(t *testing.T, s *webtest.Server) {
	t.Helper()
	if _, err := s.Jobs.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func globalHooks(t *testing.T, s *webtest.Server, p *conv.UpdateConfigurationWebhookParams) {
	t.Helper()
	if _, err := s.Twilio.ConversationsV1.UpdateConfigurationWebhook(p.SetTarget("webhook")); err != nil {
		t.Fatal(err)
	}
}

func defaultService(t *testing.T, s *webtest.Server) string {
	t.Helper()
	cfg, err := s.Twilio.ConversationsV1.FetchConfiguration()
	if err != nil {
		t.Fatal(err)
	}
	return *cfg.DefaultChatServiceSid
}

func TestPostEventWebhookSourcesAndFilters(t *testing.T) {
	type action struct {
		name string
		do   func(t *testing.T, s *webtest.Server, conversationSid string)
	}
	rest := func(enabled bool, body string) func(t *testing.T, s *webtest.Server, c string) {
		return func(t *testing.T, s *webtest.Server, c string) {
			p := (&conv.CreateConversationMessageParams{}).SetAuthor("agent1").SetBody(body)
			if enabled {
				p.SetXTwilioWebhookEnabled("true")
			}
			if _, err := s.Twilio.ConversationsV1.CreateConversationMessage(c, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	engine := func(source, identity, body string) func(t *testing.T, s *webtest.Server, c string) {
		return func(t *testing.T, s *webtest.Server, c string) {
			ctx := conversations.WithOrigin(context.Background(), conversations.Origin{ClientIdentity: identity})
			author := "+15550001111"
			if identity != "" {
				author = identity
			}
			if _, err := s.Engine.AddMessage(ctx, defaultService(t, s), c, conversations.MessageParams{Author: &author, Body: &body, Source: source}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name       string
		filters    []string
		act        action
		wantSource string // "" means no request
		wantClient string
	}{
		{"a REST message without X-Twilio-Webhook-Enabled fires no service or global webhook",
			[]string{"onMessageAdded"}, action{"rest", rest(false, "hi")}, "", ""},
		{"a REST message with X-Twilio-Webhook-Enabled: true fires them",
			[]string{"onMessageAdded"}, action{"rest+header", rest(true, "hi")}, "API", ""},
		{"an SDK message always fires them, naming the client",
			[]string{"onMessageAdded"}, action{"sdk", engine("SDK", "alice", "hi")}, "SDK", "alice"},
		{"an SMS message always fires them",
			[]string{"onMessageAdded"}, action{"sms", engine("SMS", "", "hi")}, "SMS", ""},
		{"an event left out of the filters does not fire",
			[]string{"onMessageUpdated", "onParticipantAdded"}, action{"sms", engine("SMS", "", "hi")}, "", ""},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rc := newReceiver(t, s)
				globalHooks(t, s, (&conv.UpdateConfigurationWebhookParams{}).SetPostWebhookUrl(rc.URL+"/post").SetFilters(tc.filters).SetMethod("POST"))
				c, err := s.Twilio.ConversationsV1.CreateConversation(nil)
				if err != nil {
					t.Fatal(err)
				}
				tc.act.do(t, s, *c.Sid)
				runJobs(t, s)
				got := rc.requests(t)
				if tc.wantSource == "" {
					if len(got) != 0 {
						t.Fatalf("got %d requests, want none: %v", len(got), got[0].Params)
					}
					return
				}
				if len(got) != 1 {
					t.Fatalf("got %d requests, want 1", len(got))
				}
				p := got[0].Params
				msgs, err := s.Twilio.ConversationsV1.ListConversationMessage(*c.Sid, nil)
				if err != nil || len(msgs) != 1 {
					t.Fatalf("messages = %v, %v", msgs, err)
				}
				want := map[string]string{"AccountSid": s.AccountSid, "EventType": "onMessageAdded", "ChatServiceSid": *c.ChatServiceSid,
					"Source": tc.wantSource, "ClientIdentity": tc.wantClient, "RetryCount": "0", "ConversationSid": *c.Sid,
					"MessageSid": *msgs[0].Sid, "Index": "0", "Author": *msgs[0].Author, "Body": "hi", "Attributes": "{}"}
				for k, v := range want {
					if p.Get(k) != v {
						t.Errorf("%s = %q, want %q (all: %v)", k, p.Get(k), v, p)
					}
				}
				if got[0].Method != http.MethodPost || got[0].Path != "/post" || got[0].Header.Get("I-Twilio-Idempotency-Token") == "" ||
					!strings.HasPrefix(got[0].Header.Get("User-Agent"), "TwilioProxy/") {
					t.Fatalf("request = %s %s %v", got[0].Method, got[0].Path, got[0].Header)
				}
			})
		}
	})
}

func TestGetWebhookCarriesSignedQuery(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		rc := newReceiver(t, s)
		globalHooks(t, s, (&conv.UpdateConfigurationWebhookParams{}).SetPostWebhookUrl(rc.URL+"/get?tenant=7").
			SetFilters([]string{"onConversationAdded"}).SetMethod("GET"))
		c, err := s.Twilio.ConversationsV1.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("Order 7").SetXTwilioWebhookEnabled("true"))
		if err != nil {
			t.Fatal(err)
		}
		runJobs(t, s)
		got := rc.requests(t)
		if len(got) != 1 || got[0].Method != http.MethodGet || got[0].Params.Get("tenant") != "7" ||
			got[0].Params.Get("ConversationSid") != *c.Sid || got[0].Params.Get("FriendlyName") != "Order 7" {
			t.Fatalf("requests = %+v", got)
		}
	})
}

func TestServiceWebhookConfigurationOverridesTheGlobalOne(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		global, service := newReceiver(t, s), newReceiver(t, s)
		tw := s.Twilio.ConversationsV1
		globalHooks(t, s, (&conv.UpdateConfigurationWebhookParams{}).SetPostWebhookUrl(global.URL).SetFilters([]string{"onMessageAdded"}))
		other, err := tw.CreateService((&conv.CreateServiceParams{}).SetFriendlyName("other"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.UpdateServiceWebhookConfiguration(*other.Sid, (&conv.UpdateServiceWebhookConfigurationParams{}).
			SetPostWebhookUrl(service.URL).SetFilters([]string{"onMessageAdded"})); err != nil {
			t.Fatal(err)
		}
		send := func(serviceSid string) {
			c, err := tw.CreateServiceConversation(serviceSid, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tw.CreateServiceConversationMessage(serviceSid, *c.Sid, (&conv.CreateServiceConversationMessageParams{}).
				SetBody("hello").SetXTwilioWebhookEnabled("true")); err != nil {
				t.Fatal(err)
			}
		}
		send(*other.Sid)
		send(defaultService(t, s))
		runJobs(t, s)
		g, sv := global.requests(t), service.requests(t)
		if len(sv) != 1 || sv[0].Params.Get("ChatServiceSid") != *other.Sid {
			t.Fatalf("the service's own webhook got %d requests, want the one from its service", len(sv))
		}
		if len(g) != 1 || g[0].Params.Get("ChatServiceSid") == *other.Sid {
			t.Fatalf("the global webhook got %d requests, want only the default service's one", len(g))
		}
	})
}

func TestConversationScopedWebhooksFireForRESTActions(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		hook, trigger := newReceiver(t, s), newReceiver(t, s)
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateConversationScopedWebhook(*c.Sid, webhookTo(hook.URL).SetConfigurationFilters([]string{"onMessageAdded"})); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.CreateConversationScopedWebhook(*c.Sid, (&conv.CreateConversationScopedWebhookParams{}).SetTarget("trigger").
			SetConfigurationUrl(trigger.URL).SetConfigurationTriggers([]string{"help", "call me"})); err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{"hello", "I need HELP now", "helpful tip", "please call me back"} {
			if _, err := tw.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).SetBody(body)); err != nil {
				t.Fatal(err)
			}
		}
		runJobs(t, s)
		if got := hook.events(t); len(got) != 4 {
			t.Fatalf("the webhook target got %v, want four onMessageAdded", got)
		}
		var bodies []string
		for _, r := range trigger.requests(t) {
			bodies = append(bodies, r.Params.Get("Body"))
		}
		if strings.Join(bodies, "|") != "I need HELP now|please call me back" {
			t.Fatalf("the trigger target got %q, want the messages with a keyword", bodies)
		}
	})
}

func TestPostEventDeliveryRetries(t *testing.T) {
	cases := []struct {
		name       string
		statuses   []int // the receiver's answers, in order
		wantTries  int
		wantFailed bool
	}{
		{"a 500 is retried, then delivered once", []int{500, 200}, 2, false},
		{"a 429 is retried", []int{429, 204}, 2, false},
		{"a 4xx is final", []int{404}, 1, true},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rc := newReceiver(t, s)
				rc.answer = func(n int, w http.ResponseWriter, _ *http.Request) {
					if n < len(tc.statuses) {
						w.WriteHeader(tc.statuses[n])
					}
				}
				globalHooks(t, s, (&conv.UpdateConfigurationWebhookParams{}).SetPostWebhookUrl(rc.URL).SetFilters([]string{"onConversationAdded"}))
				if _, err := s.Twilio.ConversationsV1.CreateConversation((&conv.CreateConversationParams{}).SetXTwilioWebhookEnabled("true")); err != nil {
					t.Fatal(err)
				}
				failedBefore, err := jobs.Failed(context.Background(), s.DB, 100)
				if err != nil {
					t.Fatal(err)
				}
				// Each pass runs at a later clock, past any backoff.
				start := s.Jobs.Now
				defer func() { s.Jobs.Now = start }()
				for pass := range 4 {
					at := time.Now().UTC().Add(time.Duration(pass) * 2 * time.Hour)
					s.Jobs.Now = func() time.Time { return at }
					runJobs(t, s)
				}
				got := rc.requests(t)
				if len(got) != tc.wantTries {
					t.Fatalf("receiver got %d requests, want %d", len(got), tc.wantTries)
				}
				for i, r := range got {
					if r.Params.Get("RetryCount") != strconv.Itoa(i) {
						t.Errorf("attempt %d has RetryCount %s", i+1, r.Params.Get("RetryCount"))
					}
					if tok := r.Header.Get("I-Twilio-Idempotency-Token"); tok == "" || tok != got[0].Header.Get("I-Twilio-Idempotency-Token") {
						t.Errorf("attempt %d has idempotency token %q, want the first one's", i+1, tok)
					}
				}
				failed, err := jobs.Failed(context.Background(), s.DB, 100)
				if err != nil {
					t.Fatal(err)
				}
				if grew := len(failed) > len(failedBefore); grew != tc.wantFailed {
					t.Fatalf("delivery failed for good: %v, want %v", grew, tc.wantFailed)
				}
			})
		}
	})
}

func TestPreEventWebhooks(t *testing.T) {
	cases := []struct {
		name     string
		answer   func(w http.ResponseWriter, r *http.Request)
		wantCode int    // Twilio error code for the REST caller; 0: created
		wantBody string // the stored body when created
		wantAttr string
	}{
		{"a non-2xx answer refuses the message and nothing is written",
			func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }, 50057, "", ""},
		{"a 200 with a JSON body amends the message",
			func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"body":"[redacted]","attributes":{"moderated":true}}`))
			}, 0, "[redacted]", `{"moderated":true}`},
		{"a 200 with no body lets it through unchanged",
			func(http.ResponseWriter, *http.Request) {}, 0, "my card is 4111", "{}"},
		{"no answer within the budget lets it through unchanged",
			func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 0, "my card is 4111", "{}"},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d, webtest.WithPreEventTimeout(300*time.Millisecond))
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rc := newReceiver(t, s)
				rc.answer = func(_ int, w http.ResponseWriter, r *http.Request) { tc.answer(w, r) }
				globalHooks(t, s, (&conv.UpdateConfigurationWebhookParams{}).SetPreWebhookUrl(rc.URL+"/pre").SetFilters([]string{"onMessageAdd"}))
				tw := s.Twilio.ConversationsV1
				c, err := tw.CreateConversation(nil)
				if err != nil {
					t.Fatal(err)
				}
				_, err = tw.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).SetAuthor("customer").
					SetBody("my card is 4111").SetXTwilioWebhookEnabled("true"))
				got := rc.requests(t)
				if len(got) != 1 {
					t.Fatalf("pre-event requests = %d, want 1", len(got))
				}
				p := got[0].Params
				if p.Get("EventType") != "onMessageAdd" || p.Get("ConversationSid") != *c.Sid || p.Get("Body") != "my card is 4111" ||
					p.Get("Author") != "customer" || p.Get("Source") != "API" || p.Get("MessageSid") != "" {
					t.Fatalf("pre-event params = %v", p)
				}
				msgs, lerr := tw.ListConversationMessage(*c.Sid, nil)
				if lerr != nil {
					t.Fatal(lerr)
				}
				if tc.wantCode != 0 {
					wantTwilioError(t, err, tc.wantCode, http.StatusForbidden)
					if len(msgs) != 0 {
						t.Fatalf("a refused message was written: %v", *msgs[0].Body)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != 1 || *msgs[0].Body != tc.wantBody || *msgs[0].Attributes != tc.wantAttr {
					t.Fatalf("messages = %+v, want one with body %q and attributes %s", msgs, tc.wantBody, tc.wantAttr)
				}
			})
		}
	})
}

func TestPreEventAmendmentsGoThroughValidation(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		rc := newReceiver(t, s)
		rc.answer = func(_ int, w http.ResponseWriter, r *http.Request) {
			if r.FormValue("EventType") == "onConversationAdd" && r.FormValue("FriendlyName") == "bad" {
				_, _ = w.Write([]byte(`{"attributes":"not json"}`))
				return
			}
			_, _ = w.Write([]byte(`{"friendly_name":"Support #1","timers":{"inactive":"PT5M"},"state":"active"}`))
		}
		globalHooks(t, s, (&conv.UpdateConfigurationWebhookParams{}).SetPreWebhookUrl(rc.URL).SetFilters([]string{"onConversationAdd"}))
		tw := s.Twilio.ConversationsV1
		c, err := tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("draft").SetXTwilioWebhookEnabled("true"))
		if err != nil {
			t.Fatal(err)
		}
		if *c.FriendlyName != "Support #1" || object(t, c.Timers)["date_inactive"] == nil {
			t.Fatalf("conversation = %+v, want the webhook's name and inactive timer", c)
		}
		_, err = tw.CreateConversation((&conv.CreateConversationParams{}).SetFriendlyName("bad").SetXTwilioWebhookEnabled("true"))
		wantTwilioError(t, err, 20001, http.StatusBadRequest)
		if got := rc.events(t); len(got) != 2 {
			t.Fatalf("pre-events = %v", got)
		}
	})
}
