package twiliofake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	twclient "github.com/twilio/twilio-go/client"
)

// call makes a raw API request to the fake with the account's credentials.
func call(t *testing.T, s *Server, method, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.AccountSid, s.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func newServer(t *testing.T) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

func TestCreateAnswersTwiliosMessageJSON(t *testing.T) {
	s := newServer(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return at })
	status, body := call(t, s, http.MethodPost, s.uri("Messages.json"), url.Values{
		"To": {"+15551230001"}, "From": {"+15557654321"}, "Body": {"hi"}, "MediaUrl": {"https://example.com/a.png"}})
	if status != http.StatusCreated {
		t.Fatalf("status %d: %v", status, body)
	}
	sid, _ := body["sid"].(string)
	want := map[string]any{
		"account_sid": s.AccountSid, "api_version": "2010-04-01", "body": "hi", "status": "queued", "direction": "outbound-api",
		"to": "+15551230001", "from": "+15557654321", "num_media": "1", "num_segments": "1", "date_sent": nil,
		"date_created": "Sun, 01 Mar 2026 12:00:00 +0000", "error_code": nil, "messaging_service_sid": nil,
		"uri": s.uri("Messages", sid+".json"),
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %#v, want %#v", k, body[k], v)
		}
	}
	if !strings.HasPrefix(sid, "MM") || len(sid) != 34 {
		t.Errorf("sid %q, want an MM… SID for a message with media", sid)
	}
}

func TestCreateChecksTheRequest(t *testing.T) {
	s := newServer(t)
	ok := url.Values{"To": {"+15551230001"}, "From": {"+15557654321"}, "Body": {"hi"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range ok {
			f[key] = vs
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	cases := []struct {
		name string
		form url.Values
		code int
	}{
		{"To is required", with("To", ""), 21604},
		{"From or MessagingServiceSid is required", with("From", ""), 21603},
		{"Body, MediaUrl or ContentSid is required", with("Body", ""), 21602},
		{"To must be a number", with("To", "12"), 21211},
		{"From must be a number or sender id", with("From", "+1-555"), 21212},
		{"From and To on one channel", with("To", "whatsapp:+15551230001"), 21910},
		{"Body of at most 1600 characters", with("Body", strings.Repeat("a", 1601)), 21617},
		{"ContentVariables are JSON", func() url.Values {
			f := with("ContentSid", "HX"+strings.Repeat("0", 32))
			f.Set("ContentVariables", "{")
			return f
		}(), 21656},
		{"StatusCallback is a URL", with("StatusCallback", "/relative"), 21609},
		{"MediaUrl is a URL", with("MediaUrl", "ftp://x/y"), 21620},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, s, http.MethodPost, s.uri("Messages.json"), c.form)
			if status != http.StatusBadRequest || body["code"] != float64(c.code) {
				t.Fatalf("got %d %v, want 400 with code %d", status, body, c.code)
			}
		})
	}
	t.Run("a messaging service stands in for From", func(t *testing.T) {
		f := with("From", "")
		f.Set("MessagingServiceSid", "MG"+strings.Repeat("0", 32))
		if status, body := call(t, s, http.MethodPost, s.uri("Messages.json"), f); status != http.StatusCreated {
			t.Fatalf("got %d %v", status, body)
		}
	})
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("%d messages recorded, want only the valid one", n)
	}
}

func TestRequestsNeedTheAccountsCredentials(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct{ name, user, pass, account string }{
		{"no credentials", "", "", s.AccountSid},
		{"wrong token", s.AccountSid, "nope", s.AccountSid},
		{"another account's path", s.AccountSid, s.AuthToken, "AC" + strings.Repeat("0", 32)},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/2010-04-01/Accounts/"+c.account+"/Messages.json", nil)
			if c.user != "" {
				req.SetBasicAuth(c.user, c.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Fatalf("answered %d", resp.StatusCode)
			}
		})
	}
}

func TestListFiltersAndPagesNewestFirst(t *testing.T) {
	s := newServer(t)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	send := func(to string) string {
		status, body := call(t, s, http.MethodPost, s.uri("Messages.json"), url.Values{"To": {to}, "From": {"+15557654321"}, "Body": {"hi"}})
		if status != http.StatusCreated {
			t.Fatalf("%d %v", status, body)
		}
		return body["sid"].(string)
	}
	var sids []string
	for i := range 5 {
		s.SetClock(func() time.Time { return start.Add(time.Duration(i) * time.Hour) })
		sids = append(sids, send("+15551230001"))
	}
	send("+15551230002")

	// Pages of two, followed through next_page_uri, as twilio-go does.
	q := url.Values{"To": {"+15551230001"}, "DateSent>": {start.Add(time.Hour).Format(time.RFC3339)}, "PageSize": {"2"}}
	next := s.uri("Messages.json") + "?" + q.Encode()
	var got []string
	for page := 0; next != ""; page++ {
		status, body := call(t, s, http.MethodGet, next, nil)
		if status != http.StatusOK || body["page"] != float64(page) || body["page_size"] != float64(2) ||
			!strings.HasPrefix(body["first_page_uri"].(string), s.uri("Messages.json")+"?") ||
			!strings.Contains(body["uri"].(string), fmt.Sprintf("Page=%d&", page)) {
			t.Fatalf("page %d: %d %v", page, status, body)
		}
		if (page == 0) != (body["previous_page_uri"] == nil) {
			t.Fatalf("page %d: previous_page_uri %v", page, body["previous_page_uri"])
		}
		for _, m := range body["messages"].([]any) {
			m := m.(map[string]any)
			if m["status"] != "sent" || m["date_sent"] == nil {
				t.Errorf("listed %v with status %v, date_sent %v", m["sid"], m["status"], m["date_sent"])
			}
			got = append(got, m["sid"].(string))
		}
		next, _ = body["next_page_uri"].(string)
	}
	want := []string{sids[4], sids[3], sids[2], sids[1]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want %v", got, want)
	}
}

func TestFaultsAndHolds(t *testing.T) {
	s := newServer(t)
	form := url.Values{"To": {"+15551230001"}, "From": {"+15557654321"}, "Body": {"hi"}}
	s.FailSends(2, Fault{Status: 503, Code: 20503})
	s.FailSends(1, Fault{Status: 500, Accept: true})
	for i, want := range []int{503, 503, 500, 201} {
		status, body := call(t, s, http.MethodPost, s.uri("Messages.json"), form)
		if status != want {
			t.Fatalf("send %d answered %d %v, want %d", i, status, body, want)
		}
	}
	if n := len(s.Messages()); n != 2 {
		t.Fatalf("%d messages, want the accepted-then-failed one and the last", n)
	}

	s.HoldSends()
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.URL+s.uri("Messages.json"), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.AccountSid, s.AuthToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	ctx := context.Background()
	if err := s.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 2 {
		t.Fatalf("a held send was recorded")
	}
	s.ReleaseSends()
	if status := <-done; status != http.StatusCreated {
		t.Fatalf("released send answered %d", status)
	}
	if _, err := s.WaitMessages(ctx, 3); err != nil {
		t.Fatal(err)
	}
}

func TestWebhooksAreSignedForTwilioGosValidator(t *testing.T) {
	s := newServer(t)
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	ours := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	t.Cleanup(ours.Close)
	hook := ours.URL + "/hook?ref=OD1"
	v := twclient.NewRequestValidator(s.AuthToken)
	for name, params := range map[string]url.Values{
		"SMS":      s.SMS("+15551230001", "+15557654321", "hello"),
		"MMS":      s.MMS("+15551230001", "+15557654321", "", Media{ContentType: "image/png", Data: []byte("png")}, Media{ContentType: "image/gif", Data: []byte("gif")}),
		"WhatsApp": s.WhatsApp("+447700900123", "+15557654321", "olá", "Ana"),
		"status":   s.StatusParams(Message{Sid: "SM" + strings.Repeat("0", 32), To: "+15551230001", From: "+15557654321"}, "delivered", 0),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.SendInbound(context.Background(), hook, params); err != nil {
				t.Fatal(err)
			}
			r, body := <-got, <-bodies
			if !v.ValidateBody(hook, body, r.Header.Get("X-Twilio-Signature")) {
				t.Fatal("twilio-go's validator refused the signature")
			}
			if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Fatalf("content type %q", r.Header.Get("Content-Type"))
			}
		})
	}
}

func TestReportUpdatesTheMessageAndNeedsACallback(t *testing.T) {
	s := newServer(t)
	status, body := call(t, s, http.MethodPost, s.uri("Messages.json"), url.Values{"To": {"+15551230001"}, "From": {"+15557654321"}, "Body": {"hi"}})
	if status != http.StatusCreated {
		t.Fatalf("%d %v", status, body)
	}
	sid := body["sid"].(string)
	if _, err := s.Report(context.Background(), sid, "delivered", 0); err == nil || !strings.Contains(err.Error(), "no StatusCallback") {
		t.Fatalf("got %v", err)
	}
	if m, _ := s.Message(sid); m.Status != "delivered" {
		t.Fatalf("status %q", m.Status)
	}
	if _, err := s.Report(context.Background(), "SM"+strings.Repeat("9", 32), "delivered", 0); err == nil {
		t.Fatal("reported an unknown message")
	}
}

func TestWaitGivesUpWithTheContext(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WaitMessages(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
