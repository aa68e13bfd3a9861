package simulator

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
)

const testToken = "tok3n"

// server stands in for the channel layer: it parses every webhook with the
// provider the way Service.Webhook does and keeps what it got.
type server struct {
	mu       sync.Mutex
	provider channels.Provider
	batches  []channels.Batch
	refuse   error         // answered to every request when set
	gate     chan struct{} // when set, each status report waits for a value
}

func (s *server) deliver(_ context.Context, providerSid string, r channels.Request) error {
	if s.gate != nil && bytes.Contains(r.Body, []byte(`"type":"status"`)) {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if providerSid != "PA1" {
		return errs.NotFoundf("no provider %s", providerSid)
	}
	if s.refuse != nil {
		return s.refuse
	}
	b, err := s.provider.Parse(r)
	if err != nil {
		return err
	}
	s.batches = append(s.batches, b)
	return nil
}

func (s *server) statuses() []channels.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []channels.Status
	for _, b := range s.batches {
		out = append(out, b.Statuses...)
	}
	return out
}

// newNetwork is a network whose provider PA1 has the phones' token.
func newNetwork(t *testing.T) (*Network, *Provider, *server) {
	t.Helper()
	srv := &server{}
	n := NewNetwork(srv.deliver, Options{Token: testToken})
	t.Cleanup(n.Close)
	p, err := NewFactory(n)(channels.Config{Sid: "PA1", Kind: channels.KindSimulator, Secret: testToken})
	if err != nil {
		t.Fatal(err)
	}
	srv.provider = p
	return n, p.(*Provider), srv
}

func key(t *testing.T, phone, sender string) Key {
	t.Helper()
	k, err := NewKey(phone, sender)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitFor waits until cond holds on a thread, listening to its changes.
func waitFor(t *testing.T, n *Network, k Key, what string, cond func([]Message) bool) []Message {
	t.Helper()
	sub := n.Subscribe(k)
	defer sub.Close()
	deadline := time.After(10 * time.Second)
	for {
		if msgs := n.Thread(k); cond(msgs) {
			return msgs
		}
		select {
		case <-sub.C:
			sub.Changes()
		case <-deadline:
			t.Fatalf("gave up waiting for %s; thread: %+v", what, n.Thread(k))
		}
	}
}

func TestParseAcceptsOnlyTheAccountsToken(t *testing.T) {
	_, p, _ := newNetwork(t)
	body := []byte(`{"type":"message","id":"SM1","from":"+15551230001","to":"+15550100","body":"hi"}`)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   error
	}{
		{"the account's token passes", http.Header{"Content-Type": {"application/json"}, TokenHeader: {testToken}}, nil},
		{"another token is unauthorized", http.Header{"Content-Type": {"application/json"}, TokenHeader: {"tok3m"}}, channels.ErrUnauthorized},
		{"a prefix of the token is unauthorized", http.Header{"Content-Type": {"application/json"}, TokenHeader: {"tok"}}, channels.ErrUnauthorized},
		{"no token is unauthorized", http.Header{"Content-Type": {"application/json"}}, channels.ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Parse(channels.Request{Method: http.MethodPost, Header: tc.header, Body: body})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseRefusesWhatIsNotASimulatorWebhook(t *testing.T) {
	_, p, _ := newNetwork(t)
	for _, tc := range []struct {
		name, method, contentType, body string
	}{
		{"a GET", http.MethodGet, "application/json", `{"type":"message","id":"SM1","from":"+15551230001","to":"+15550100"}`},
		{"a form post", http.MethodPost, "application/x-www-form-urlencoded", `type=message`},
		{"not JSON", http.MethodPost, "application/json", `{`},
		{"an unknown type", http.MethodPost, "application/json", `{"type":"call"}`},
		{"a message without id", http.MethodPost, "application/json", `{"type":"message","from":"+15551230001","to":"+15550100"}`},
		{"an SMS phone writing to a WhatsApp sender", http.MethodPost, "application/json", `{"type":"message","id":"SM1","from":"+15551230001","to":"whatsapp:+15550100"}`},
		{"a phone that is no number", http.MethodPost, "application/json", `{"type":"message","id":"SM1","from":"alice","to":"+15550100"}`},
		{"media from elsewhere", http.MethodPost, "application/json", `{"type":"message","id":"SM1","from":"+15551230001","to":"+15550100","media":[{"url":"http://10.0.0.1/x","content_type":"image/png"}]}`},
		{"an unknown status", http.MethodPost, "application/json", `{"type":"status","id":"SM1","status":"seen"}`},
		{"a status naming no message", http.MethodPost, "application/json", `{"type":"status","status":"delivered"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Parse(channels.Request{Method: tc.method, Body: []byte(tc.body),
				Header: http.Header{"Content-Type": {tc.contentType}, TokenHeader: {testToken}}})
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("Parse = %v, want an Invalid error", err)
			}
		})
	}
}

func TestFactoryRefusesAnAccountWithoutToken(t *testing.T) {
	n := NewNetwork(nil, Options{})
	defer n.Close()
	if _, err := NewFactory(n)(channels.Config{Sid: "PA1", Kind: channels.KindSimulator}); err == nil {
		t.Fatal("a simulator account without Secret was built; any request without a token would pass")
	}
}

func TestTextReachesTheServerAsAnInboundMessage(t *testing.T) {
	for _, tc := range []struct {
		name, phone, sender, wantFrom, wantSource string
	}{
		{"SMS", "+15551230001", "+15550100", "+15551230001", channels.SourceSMS},
		{"WhatsApp", "+15551230001", "whatsapp:+15550100", "whatsapp:+15551230001", channels.SourceWhatsApp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _, srv := newNetwork(t)
			k := key(t, tc.phone, tc.sender)
			m, err := n.Text(context.Background(), "PA1", Text{Key: k, ProfileName: "Ada", Body: "hello <b>"})
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != StatusAccepted || m.Direction != Inbound {
				t.Fatalf("message = %+v, want an accepted inbound message", m)
			}
			if len(srv.batches) != 1 || len(srv.batches[0].Messages) != 1 {
				t.Fatalf("server got %+v, want one message", srv.batches)
			}
			want := channels.Inbound{ExternalID: m.ID, From: tc.wantFrom, To: tc.sender, Body: "hello <b>", ProfileName: "Ada", Source: tc.wantSource}
			if got := srv.batches[0].Messages[0]; got.ExternalID != want.ExternalID || got.From != want.From || got.To != want.To ||
				got.Body != want.Body || got.ProfileName != want.ProfileName || got.Source != want.Source {
				t.Fatalf("inbound = %+v, want %+v", got, want)
			}
		})
	}
}

func TestTextShowsTheServersRefusal(t *testing.T) {
	n, _, srv := newNetwork(t)
	srv.refuse = errs.NotFoundf("+15550100 is not a sender")
	k := key(t, "+15551230001", "+15550100")
	m, err := n.Text(context.Background(), "PA1", Text{Key: k, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusFailed || m.Error != "+15550100 is not a sender (error 20404)" {
		t.Fatalf("message = %+v, want failed with the server's error", m)
	}
	if got := n.Thread(k); len(got) != 1 || got[0].Status != StatusFailed {
		t.Fatalf("thread = %+v, want the failed message", got)
	}
}

func TestTextWithATokenTheAccountDoesNotHaveIsRefused(t *testing.T) {
	srv := &server{}
	n := NewNetwork(srv.deliver, Options{Token: "other"})
	t.Cleanup(n.Close)
	p, _ := NewFactory(n)(channels.Config{Sid: "PA1", Secret: testToken})
	srv.provider = p
	m, err := n.Text(context.Background(), "PA1", Text{Key: key(t, "+15551230001", "+15550100"), Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusFailed || len(srv.batches) != 0 {
		t.Fatalf("message = %+v and server got %v; want a refusal", m, srv.batches)
	}
}

func TestTextRefusesWhatNoPhoneCouldSend(t *testing.T) {
	n, _, srv := newNetwork(t)
	n.maxMedia = 10
	k := key(t, "+15551230001", "+15550100")
	for _, tc := range []struct {
		name string
		text Text
	}{
		{"nothing", Text{Key: k, Body: "  "}},
		{"a body past the limit", Text{Key: k, Body: string(make([]byte, maxBody+1))}},
		{"an attachment past the limit", Text{Key: k, Attachments: []Attachment{{ContentType: "image/png", Data: make([]byte, 11)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := n.Text(context.Background(), "PA1", tc.text); err == nil {
				t.Fatal("Text succeeded")
			}
		})
	}
	if len(srv.batches) != 0 || len(n.Thread(k)) != 0 {
		t.Fatal("a refused text reached the server or the thread")
	}
}

func TestNewKeyPutsThePhoneOnTheSendersNetwork(t *testing.T) {
	for _, tc := range []struct {
		name, phone, sender string
		want                Key
		ok                  bool
	}{
		{"SMS", "+15551230001", "+15550100", Key{"+15551230001", "+15550100"}, true},
		{"WhatsApp adds the prefix", "+15551230001", "whatsapp:+15550100", Key{"whatsapp:+15551230001", "whatsapp:+15550100"}, true},
		{"WhatsApp keeps a given prefix", "whatsapp:+15551230001", "whatsapp:+15550100", Key{"whatsapp:+15551230001", "whatsapp:+15550100"}, true},
		{"a WhatsApp phone on SMS is a plain number", "whatsapp:+15551230001", "+15550100", Key{"+15551230001", "+15550100"}, true},
		{"a number without plus is refused", "15551230001", "+15550100", Key{}, false},
		{"a sender that is no number is refused", "+15551230001", "support", Key{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := NewKey(tc.phone, tc.sender)
			if (err == nil) != tc.ok || (tc.ok && k != tc.want) {
				t.Fatalf("NewKey = %+v, %v; want %+v, ok=%v", k, err, tc.want, tc.ok)
			}
		})
	}
}

func TestSendIsReportedDeliveredThroughTheWebhook(t *testing.T) {
	n, p, srv := newNetwork(t)
	id, err := p.Send(context.Background(), channels.Outbound{Ref: "OD1", From: "+15550100", To: "+15551230001", Body: "Your order shipped"})
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, "+15551230001", "+15550100")
	msgs := waitFor(t, n, k, "delivered", func(m []Message) bool { return len(m) == 1 && m[0].Status == channels.StatusDelivered })
	if m := msgs[0]; m.ID != id || m.Ref != "OD1" || m.Direction != Outbound || m.Body != "Your order shipped" {
		t.Fatalf("thread message = %+v", m)
	}
	want := []channels.Status{{Ref: "OD1", ExternalID: id, Status: channels.StatusDelivered}}
	if got := srv.statuses(); !slices.Equal(got, want) {
		t.Fatalf("statuses = %+v, want %+v", got, want)
	}
}

func TestReadIsReportedAfterDeliveredOnWhatsAppOnly(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"WhatsApp reports read", "whatsapp:+15550100", "whatsapp:+15551230001", []string{channels.StatusDelivered, channels.StatusRead}},
		{"SMS has no read receipts", "+15550100", "+15551230001", []string{channels.StatusDelivered}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, p, srv := newNetwork(t)
			srv.gate = make(chan struct{})
			id, err := p.Send(context.Background(), channels.Outbound{Ref: "OD1", From: tc.from, To: tc.to, Body: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			k := key(t, tc.to, tc.from)
			// The phone shows the message while "delivered" is still on its way.
			n.Read(k, id)
			close(srv.gate)
			last := tc.want[len(tc.want)-1]
			waitFor(t, n, k, last, func(m []Message) bool { return m[0].Status == last })
			n.Close() // no report may follow
			var got []string
			for _, st := range srv.statuses() {
				if st.Ref != "OD1" || st.ExternalID != id {
					t.Fatalf("status %+v names another message", st)
				}
				got = append(got, st.Status)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("statuses = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadingAgainReportsNothingMore(t *testing.T) {
	n, p, srv := newNetwork(t)
	id, _ := p.Send(context.Background(), channels.Outbound{Ref: "OD1", From: "whatsapp:+15550100", To: "whatsapp:+15551230001", Body: "hi"})
	k := key(t, "+15551230001", "whatsapp:+15550100")
	waitFor(t, n, k, "delivered", func(m []Message) bool { return m[0].Status == channels.StatusDelivered })
	n.Read(k, id)
	waitFor(t, n, k, "read", func(m []Message) bool { return m[0].Status == channels.StatusRead })
	n.Read(k, id)
	n.Close()
	if got := srv.statuses(); len(got) != 2 {
		t.Fatalf("statuses = %+v, want delivered and read once each", got)
	}
}

func TestAFailingStatusReportIsRetriedThenShown(t *testing.T) {
	n, p, srv := newNetwork(t)
	n.retryWait = time.Millisecond
	srv.refuse = errs.E(errs.Unavailable, errs.CodeUnavailable, "shutting down")
	if _, err := p.Send(context.Background(), channels.Outbound{Ref: "OD1", From: "+15550100", To: "+15551230001", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	k := key(t, "+15551230001", "+15550100")
	msgs := waitFor(t, n, k, "the report error", func(m []Message) bool { return m[0].Error != "" })
	if msgs[0].Status != channels.StatusSent || msgs[0].Error != "reporting delivered: shutting down (error 20503)" {
		t.Fatalf("message = %+v, want still sent, with the report's error", msgs[0])
	}
}

func TestSendRefusesAPhoneOnAnotherNetwork(t *testing.T) {
	_, p, _ := newNetwork(t)
	for _, to := range []string{"+15551230001", "alice", ""} {
		_, err := p.Send(context.Background(), channels.Outbound{Ref: "OD1", From: "whatsapp:+15550100", To: to, Body: "hi"})
		var se *channels.SendError
		if !errors.As(err, &se) || !se.Permanent {
			t.Fatalf("Send to %q = %v, want a permanent SendError", to, err)
		}
	}
}

func TestSendShowsATemplateByItsSid(t *testing.T) {
	n, p, _ := newNetwork(t)
	if _, err := p.Send(context.Background(), channels.Outbound{Ref: "OD1", From: "whatsapp:+15550100", To: "whatsapp:+15551230001",
		ContentSid: "HX0123", ContentVariables: `{"1":"Ada"}`}); err != nil {
		t.Fatal(err)
	}
	if got := n.Thread(key(t, "+15551230001", "whatsapp:+15550100")); got[0].Body != `Template HX0123 {"1":"Ada"}` {
		t.Fatalf("body = %q", got[0].Body)
	}
}

func TestFindReturnsTheMessagesSentWithExactlyThatRef(t *testing.T) {
	n, p, _ := newNetwork(t)
	n.latency = time.Hour
	out := func(ref string) channels.Outbound {
		return channels.Outbound{Ref: ref, From: "+15550100", To: "+15551230001", Body: "hi"}
	}
	send := func(ref string) string {
		id, err := p.Send(context.Background(), out(ref))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	before := time.Now().UTC()
	first := send("OD1")
	longer := send("OD12")
	again := send("OD1")
	for _, tc := range []struct {
		name  string
		m     channels.Outbound
		since time.Time
		want  []string
	}{
		{"every send of the ref, oldest first", out("OD1"), before, []string{first, again}},
		{"a longer ref is another ref", out("OD12"), before, []string{longer}},
		{"a ref never sent finds nothing", out("OD2"), before, nil},
		{"sends before since are left out", out("OD1"), time.Now().Add(time.Hour), nil},
		{"another phone's thread is not searched", channels.Outbound{Ref: "OD1", From: "+15550100", To: "+15551230002"}, before, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Find(context.Background(), tc.m, tc.since)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Find = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestAttachmentsAreFetchedFromTheNetwork(t *testing.T) {
	n, p, srv := newNetwork(t)
	k := key(t, "+15551230001", "+15550100")
	png := []byte("\x89PNG fake")
	if _, err := n.Text(context.Background(), "PA1", Text{Key: k, Attachments: []Attachment{{ContentType: "image/png", Filename: "cat.png", Data: png}}}); err != nil {
		t.Fatal(err)
	}
	in := srv.batches[0].Messages[0]
	if len(in.Media) != 1 || in.Media[0].ContentType != "image/png" || in.Media[0].Filename != "cat.png" {
		t.Fatalf("inbound media = %+v", in.Media)
	}
	body, ct, err := p.FetchMedia(context.Background(), in.Media[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	if ct != "image/png" || string(got) != string(png) {
		t.Fatalf("FetchMedia = %q, %q", ct, got)
	}
	for _, url := range []string{"http://127.0.0.1/secret", MediaURL("ME0")} {
		if _, _, err := p.FetchMedia(context.Background(), url); err == nil {
			t.Fatalf("FetchMedia(%q) succeeded", url)
		}
	}
}

func TestTheNetworkForgetsTheOldestBeyondItsBounds(t *testing.T) {
	n, _, _ := newNetwork(t)
	n.maxMessages, n.maxThreads, n.maxMediaTotal = 3, 2, 10
	ctx := context.Background()
	a, b, c := key(t, "+15551230001", "+15550100"), key(t, "+15551230002", "+15550100"), key(t, "+15551230003", "+15550100")
	var ids []string
	for i := 0; i < 5; i++ {
		m, err := n.Text(ctx, "PA1", Text{Key: a, Body: "m", Attachments: []Attachment{{ContentType: "image/png", Data: make([]byte, 4)}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	var kept []string
	for _, m := range n.Thread(a) {
		kept = append(kept, m.ID)
	}
	if !slices.Equal(kept, ids[2:]) {
		t.Fatalf("thread keeps %v, want the last three %v", kept, ids[2:])
	}
	if len(n.media) != 2 || n.mediaBytes != 8 {
		t.Fatalf("media store holds %d attachments, %d bytes; want the last 2, 8 bytes", len(n.media), n.mediaBytes)
	}
	for _, k := range []Key{b, c} {
		if _, err := n.Text(ctx, "PA1", Text{Key: k, Body: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.Threads(); !slices.Equal(got, []Key{c, b}) {
		t.Fatalf("threads = %v, want the two most recent, newest first", got)
	}
}

func TestASubscriberSeesTheThreadThenItsChanges(t *testing.T) {
	n, p, _ := newNetwork(t)
	n.latency = time.Hour
	k := key(t, "+15551230001", "+15550100")
	old, _ := n.Text(context.Background(), "PA1", Text{Key: k, Body: "first"})
	sub := n.Subscribe(k)
	defer sub.Close()
	<-sub.C
	msgs, all := sub.Changes()
	if !all || len(msgs) != 1 || msgs[0].ID != old.ID {
		t.Fatalf("first Changes = %+v, %v; want the whole thread", msgs, all)
	}
	id, _ := p.Send(context.Background(), channels.Outbound{Ref: "OD1", From: "+15550100", To: "+15551230001", Body: "reply"})
	<-sub.C
	msgs, all = sub.Changes()
	if all || len(msgs) != 1 || msgs[0].ID != id {
		t.Fatalf("Changes = %+v, %v; want only the reply", msgs, all)
	}
	for i := 0; i <= maxPending; i++ {
		n.mu.Lock()
		n.notify(k, randomID("SM"))
		n.mu.Unlock()
	}
	if _, all = sub.Changes(); !all {
		t.Fatal("a subscriber that fell behind was not told to re-render the thread")
	}
	if msgs, all = sub.Changes(); all || len(msgs) != 0 {
		t.Fatalf("Changes with nothing new = %+v, %v", msgs, all)
	}
}
