package channels_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/twiliomsg"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/secrets"
)

// carrier is a scriptable carrier: its webhooks are JSON checked against a
// token, and its sends follow a script of outcomes.
type carrier struct {
	mu       sync.Mutex
	token    string
	canFind  bool
	script   []outcome // consumed one per Send; empty means accept
	accepted []channels.Outbound
	ids      []string
	sends    int
	down     bool  // the last send met an outage, which lookups meet too
	holdFind *hold // the next Find waits for its release
	holdSend *hold // the next Send waits for its release
	files    map[string]file
}

// file is an attachment the carrier serves by URL.
type file struct {
	contentType string
	data        []byte
}

// hold stops one call: entered closes when the call arrives, and the call
// goes on when release is closed.
type hold struct{ entered, release chan struct{} }

func newHold() *hold { return &hold{entered: make(chan struct{}), release: make(chan struct{})} }

// take removes *h under the carrier's lock and makes the call wait on it.
func (c *carrier) take(h **hold) {
	c.mu.Lock()
	held := *h
	*h = nil
	c.mu.Unlock()
	if held != nil {
		close(held.entered)
		<-held.release
	}
}

type outcome int

const (
	accept          outcome = iota
	refuse503               // the carrier answered 503 without taking the message
	acceptThenDrop          // the carrier took it, but the answer was lost
	rateLimited             // 429
	refusePermanent         // 400 with an error code
	outage                  // 503, and lookups fail until a send goes through
)

func (c *carrier) factory(cfg channels.Config) (channels.Provider, error) {
	c.mu.Lock()
	c.token = cfg.Secret
	c.mu.Unlock()
	return c, nil
}

func (c *carrier) Parse(r channels.Request) (channels.Batch, error) {
	if r.Header.Get("X-Token") != c.token {
		return channels.Batch{}, channels.ErrUnauthorized
	}
	var b channels.Batch
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return b, errs.Invalidf("bad body")
	}
	return b, nil
}

func (c *carrier) Send(ctx context.Context, m channels.Outbound) (string, error) {
	c.take(&c.holdSend)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sends++
	next := accept
	if len(c.script) > 0 {
		next, c.script = c.script[0], c.script[1:]
	}
	c.down = next == outage
	switch next {
	case refuse503, outage:
		return "", channels.HTTPSendError(503, 0, "service unavailable", 0)
	case rateLimited:
		return "", channels.HTTPSendError(429, 20429, "too many requests", 0)
	case refusePermanent:
		return "", channels.HTTPSendError(400, 21211, "invalid To number", 0)
	}
	id := fmt.Sprintf("SM%032d", len(c.accepted)+1)
	c.accepted = append(c.accepted, m)
	c.ids = append(c.ids, id)
	if next == acceptThenDrop {
		return "", errors.New("connection reset by peer")
	}
	return id, nil
}

func (c *carrier) Find(ctx context.Context, m channels.Outbound, since time.Time) ([]string, error) {
	c.take(&c.holdFind)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.canFind {
		return nil, channels.ErrCannotFind
	}
	if c.down {
		return nil, errors.New("connection refused")
	}
	var out []string
	for i, a := range c.accepted {
		if a.To == m.To && a.From == m.From && a.Body == m.Body {
			out = append(out, c.ids[i])
		}
	}
	return out, nil
}

func (c *carrier) FetchMedia(ctx context.Context, url string) (io.ReadCloser, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.files[url]
	if !ok {
		return nil, "", errors.New("no such attachment")
	}
	return io.NopCloser(bytes.NewReader(f.data)), f.contentType, nil
}

// copies counts the messages the carrier accepted for a recipient.
func (c *carrier) copies(to string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, a := range c.accepted {
		if a.To == to {
			n++
		}
	}
	return n
}

type fixture struct {
	t        *testing.T
	ctx      context.Context
	d        *db.DB
	conv     *conversations.Engine
	ch       *channels.Service
	runner   *jobs.Runner
	carrier  *carrier
	provider string
	offset   time.Duration // the shared clock runs this far ahead
	mu       sync.Mutex
}

const (
	ourSMS      = "+15550100"
	ourWhatsApp = "whatsapp:+15550100"
	customer    = "+15557654321"
	customerWA  = "whatsapp:+15557654321"
)

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, d: d, carrier: &carrier{canFind: true}}
	sealer, err := secrets.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	f.conv = conversations.New(d, acct.Sid)
	f.conv.SetClock(f.now)
	store, err := media.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mediaSvc := media.New(d, store, bytes.Repeat([]byte("m"), 32), f.now)
	f.conv.SetMediaLinker(mediaSvc)
	f.ch = channels.New(d, f.conv, mediaSvc, sealer, channels.Options{PublicURL: "https://sb.example.com",
		Factories: map[string]channels.Factory{channels.KindSimulator: f.carrier.factory}, StatusGrace: time.Minute, Now: f.now})
	f.runner = jobs.NewRunner(d, slog.New(slog.DiscardHandler))
	f.runner.Now = f.now
	f.conv.RegisterJobs(f.runner)
	f.ch.RegisterJobs(f.runner)
	p, err := f.ch.CreateProvider(ctx, channels.ProviderParams{Kind: ptr(channels.KindSimulator), Secret: ptr("tok3n")})
	if err != nil {
		t.Fatal(err)
	}
	f.provider = p.Sid
	for _, addr := range []string{ourSMS, ourWhatsApp} {
		if _, err := f.ch.PutSender(ctx, channels.SenderParams{Address: addr, ProviderSid: p.Sid}); err != nil {
			t.Fatal(err)
		}
		typ := "sms"
		if addr == ourWhatsApp {
			typ = "whatsapp"
		}
		if _, err := f.conv.CreateAddressConfiguration(ctx, conversations.AddressConfigurationParams{Type: ptr(typ), Address: ptr(addr),
			AutoCreationEnabled: ptr(true), AutoCreationType: ptr("default")}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().UTC().Add(f.offset).Truncate(time.Microsecond)
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.offset += d
	f.mu.Unlock()
}

// webhook plays the carrier calling our webhook.
func (f *fixture) webhook(token string, b channels.Batch) error {
	body, _ := json.Marshal(b)
	_, err := f.ch.Webhook(f.ctx, f.provider, channels.Request{Method: "POST", URL: f.ch.WebhookURL(f.provider),
		Header: http.Header{"X-Token": {token}}, Body: body})
	return err
}

func (f *fixture) inbound(id, from, to, body string) error {
	src := channels.SourceSMS
	if to == ourWhatsApp {
		src = channels.SourceWhatsApp
	}
	return f.webhook("tok3n", channels.Batch{Messages: []channels.Inbound{{ExternalID: id, From: from, To: to, Body: body, Source: src, ProfileName: "Ada"}}})
}

// runJobs runs every due job, advancing the clock past retry backoffs up to
// the given number of rounds.
func (f *fixture) runJobs(rounds int) {
	f.t.Helper()
	for range rounds {
		if _, err := f.runner.RunDue(f.ctx); err != nil {
			f.t.Fatal(err)
		}
		f.advance(2 * time.Hour)
	}
}

func (f *fixture) conversationOf(address, proxy string) conversations.Conversation {
	f.t.Helper()
	var sid string
	if err := f.d.Gorm.Raw(`SELECT conversation_sid FROM bindings WHERE address = ? AND proxy_address = ?`, address, proxy).Scan(&sid).Error; err != nil || sid == "" {
		f.t.Fatalf("no conversation holds %s ↔ %s (%v)", address, proxy, err)
	}
	var c conversations.Conversation
	if err := f.d.Gorm.Where("sid = ?", sid).First(&c).Error; err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) messages(c conversations.Conversation) []conversations.Message {
	f.t.Helper()
	ms, _, err := f.conv.Messages(f.ctx, c.ServiceSid, c.Sid, false, conversations.Page{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return ms
}

func (f *fixture) reply(c conversations.Conversation, p conversations.MessageParams) (conversations.Message, error) {
	if p.Author == nil {
		p.Author = ptr("agent-ann")
	}
	return f.conv.AddMessage(f.ctx, c.ServiceSid, c.Sid, p)
}

func (f *fixture) receipt(m conversations.Message) conversations.DeliveryReceipt {
	f.t.Helper()
	rs, _, err := f.conv.Receipts(f.ctx, m.ServiceSid, m.ConversationSid, m.Sid, conversations.Page{Limit: 10})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(rs) != 1 {
		f.t.Fatalf("message %s has %d receipts, want 1", m.Sid, len(rs))
	}
	return rs[0]
}

func TestAFirstTextAutoCreatesAConversationWithTheCustomer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if err := f.inbound("SM1", customer, ourSMS, "hello, is anyone there?"); err != nil {
			t.Fatal(err)
		}
		c := f.conversationOf(customer, ourSMS)
		ms := f.messages(c)
		if len(ms) != 1 || *ms[0].Body != "hello, is anyone there?" || ms[0].Author != customer || ms[0].ParticipantSid == nil {
			t.Fatalf("messages = %+v", ms)
		}
		p, err := f.conv.Participant(f.ctx, c.ServiceSid, c.Sid, *ms[0].ParticipantSid)
		if err != nil {
			t.Fatal(err)
		}
		if p.ChannelType != "sms" || *p.ProxyAddress != ourSMS || p.Attributes != `{"friendlyName":"Ada"}` {
			t.Fatalf("participant = %+v", p)
		}
		// The next text lands in the same conversation.
		if err := f.inbound("SM2", customer, ourSMS, "hello?"); err != nil {
			t.Fatal(err)
		}
		if got := len(f.messages(f.conversationOf(customer, ourSMS))); got != 2 {
			t.Fatalf("%d messages, want 2", got)
		}
	})
}

func TestACarrierRetryNeverDuplicatesAMessage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		var wg sync.WaitGroup
		errc := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- f.inbound("SMdup", customer, ourSMS, "only once")
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := len(f.messages(f.conversationOf(customer, ourSMS))); got != 1 {
			t.Fatalf("%d messages from 8 deliveries of one carrier message, want 1", got)
		}
	})
}

func TestInboundIsRefusedWhenNothingCanTakeIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		cases := []struct {
			name  string
			token string
			to    string
			kind  errs.Kind
		}{
			{"a bad signature", "wrong", ourSMS, errs.Unauthorized},
			{"a number that is not ours", "tok3n", "+15550199", errs.NotFound},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				err := f.webhook(c.token, channels.Batch{Messages: []channels.Inbound{{ExternalID: "SMx", From: customer, To: c.to, Body: "hi", Source: "SMS"}}})
				if errs.KindOf(err) != c.kind {
					t.Fatalf("err = %v, want kind %v", err, c.kind)
				}
			})
		}
		// Without auto-creation and with no open conversation, the message
		// is refused rather than dropped.
		if _, err := f.conv.UpdateAddressConfiguration(f.ctx, ourSMS, conversations.AddressConfigurationParams{AutoCreationEnabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if err := f.inbound("SMy", customer, ourSMS, "hi"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("err = %v, want not found", err)
		}
		var n int64
		f.d.Gorm.Table("messages").Count(&n)
		if n != 0 {
			t.Fatalf("%d messages written by refused requests", n)
		}
	})
}

func TestAReplyIsDeliveredOnceAndItsStatusesShowOnTheMessage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if err := f.inbound("SM1", customer, ourSMS, "hi"); err != nil {
			t.Fatal(err)
		}
		c := f.conversationOf(customer, ourSMS)
		m, err := f.reply(c, conversations.MessageParams{Body: ptr("Hi Ada, how can I help?")})
		if err != nil {
			t.Fatal(err)
		}
		f.runJobs(1)
		if f.carrier.copies(customer) != 1 {
			t.Fatalf("carrier got %d copies", f.carrier.copies(customer))
		}
		out := f.carrier.accepted[0]
		if out.From != ourSMS || out.Body != "Hi Ada, how can I help?" || out.StatusCallback != f.ch.WebhookURL(f.provider)+"?ref="+out.Ref {
			t.Fatalf("outbound = %+v", out)
		}
		if r := f.receipt(m); r.Status != "sent" || r.ChannelMessageSid != f.carrier.ids[0] {
			t.Fatalf("receipt = %+v", r)
		}
		// Statuses arrive out of order: read before delivered.
		for _, st := range []string{"read", "delivered"} {
			if err := f.webhook("tok3n", channels.Batch{Statuses: []channels.Status{{Ref: out.Ref, ExternalID: f.carrier.ids[0], Status: st}}}); err != nil {
				t.Fatal(err)
			}
		}
		if r := f.receipt(m); r.Status != "read" {
			t.Fatalf("receipt status %q after read then delivered, want read", r.Status)
		}
		// The customer's own message is not sent back to them.
		f.runJobs(2)
		if f.carrier.copies(customer) != 1 {
			t.Fatalf("carrier got %d copies", f.carrier.copies(customer))
		}
	})
}

func TestDeliveryIsExactlyOnceWhateverTheCarrierDoes(t *testing.T) {
	cases := []struct {
		name    string
		script  []outcome
		canFind bool
		status  bool // the carrier reports a status naming the delivery while it is in doubt
		want    string
	}{
		{"down for a while then back", []outcome{refuse503, refuse503, refuse503, accept}, true, false, "sent"},
		{"rate limited then accepted", []outcome{rateLimited, accept}, true, false, "sent"},
		{"took it but the answer was lost (carrier can be asked)", []outcome{acceptThenDrop}, true, false, "sent"},
		{"took it but the answer was lost (a status names it)", []outcome{acceptThenDrop}, false, true, "delivered"},
		{"answer lost, carrier cannot be asked, no status: sent again after the grace", []outcome{refuse503, accept}, false, false, "sent"},
		{"refused for good", []outcome{refusePermanent}, true, false, "failed"},
		{"never comes back", []outcome{refuse503, refuse503, refuse503, refuse503, refuse503, refuse503, refuse503, refuse503, refuse503}, true, false, "failed"},
		// Regression: each failed lookup cost the job one of its ten runs but
		// the delivery none of its eight attempts, so the job gave up first and
		// left the delivery in doubt, with no receipt saying it failed.
		{"never comes back, and cannot even be asked", []outcome{outage, outage, outage, outage, outage, outage, outage, outage, outage}, true, false, "failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				f := newFixture(t, d)
				f.carrier.script, f.carrier.canFind = tc.script, tc.canFind
				if err := f.inbound("SM1", customer, ourSMS, "hi"); err != nil {
					t.Fatal(err)
				}
				c := f.conversationOf(customer, ourSMS)
				m, err := f.reply(c, conversations.MessageParams{Body: ptr("on it")})
				if err != nil {
					t.Fatal(err)
				}
				f.runJobs(1)
				if tc.status {
					ref := f.carrier.accepted[0].Ref
					if err := f.webhook("tok3n", channels.Batch{Statuses: []channels.Status{{Ref: ref, ExternalID: f.carrier.ids[0], Status: "delivered"}}}); err != nil {
						t.Fatal(err)
					}
				}
				f.runJobs(12)
				want := 1
				if tc.want == "failed" {
					want = 0
				}
				if got := f.carrier.copies(customer); got != want {
					t.Fatalf("carrier accepted %d copies, want %d (after %d sends)", got, want, f.carrier.sends)
				}
				if r := f.receipt(m); r.Status != tc.want {
					t.Fatalf("receipt = %+v, want %s", r, tc.want)
				}
			})
		})
	}
}

func TestAnAttemptCutOffBeforeTheCarrierSawItIsSentOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if err := f.inbound("SM1", customer, ourSMS, "hi"); err != nil {
			t.Fatal(err)
		}
		c := f.conversationOf(customer, ourSMS)
		m, err := f.reply(c, conversations.MessageParams{Body: ptr("on it")})
		if err != nil {
			t.Fatal(err)
		}
		// The state a crash leaves between claiming the attempt and sending:
		// the delivery says "sending", the carrier has nothing, the job's
		// lease runs out.
		if err := f.d.Gorm.Exec(`UPDATE channel_deliveries SET state = 'sending', attempts = 1, date_sending = ?`, f.now()).Error; err != nil {
			t.Fatal(err)
		}
		f.runJobs(3)
		if got := f.carrier.copies(customer); got != 1 {
			t.Fatalf("carrier accepted %d copies, want 1", got)
		}
		if r := f.receipt(m); r.Status != "sent" {
			t.Fatalf("receipt = %+v", r)
		}
	})
}

func TestWhatsAppFreeFormMessagesNeedTheCustomersLast24Hours(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if err := f.inbound("wamid.1", customerWA, ourWhatsApp, "hola"); err != nil {
			t.Fatal(err)
		}
		c := f.conversationOf(customerWA, ourWhatsApp)
		if _, err := f.reply(c, conversations.MessageParams{Body: ptr("within the window")}); err != nil {
			t.Fatal(err)
		}
		f.advance(25 * time.Hour)
		before := len(f.messages(c))
		_, err := f.reply(c, conversations.MessageParams{Body: ptr("too late")})
		if errs.CodeOf(err) != channels.CodeOutsideWindow {
			t.Fatalf("err = %v, want code %d", err, channels.CodeOutsideWindow)
		}
		if got := len(f.messages(c)); got != before {
			t.Fatalf("a refused message was written (%d → %d)", before, got)
		}
		if _, err := f.reply(c, conversations.MessageParams{ContentSid: ptr("HX" + "0123456789abcdef0123456789abcdef"),
			ContentVariables: ptr(`{"1":"Ada"}`)}); err != nil {
			t.Fatalf("a template outside the window: %v", err)
		}
		// The customer writes again: the window reopens.
		if err := f.inbound("wamid.2", customerWA, ourWhatsApp, "still there?"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reply(c, conversations.MessageParams{Body: ptr("yes!")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestABodyOver1600CharactersIsRefusedForSMS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if err := f.inbound("SM1", customer, ourSMS, "hi"); err != nil {
			t.Fatal(err)
		}
		c := f.conversationOf(customer, ourSMS)
		_, err := f.reply(c, conversations.MessageParams{Body: ptr(string(bytes.Repeat([]byte("é"), 1601)))})
		if errs.CodeOf(err) != channels.CodeBodyTooLong {
			t.Fatalf("err = %v, want %d", err, channels.CodeBodyTooLong)
		}
		if _, err := f.reply(c, conversations.MessageParams{Body: ptr(string(bytes.Repeat([]byte("é"), 1600)))}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFirstTextsRacingFromOneCustomerLandInOneConversation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		var wg sync.WaitGroup
		errc := make(chan error, 6)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errc <- f.inbound(fmt.Sprintf("SMrace%d", i), customer, ourSMS, fmt.Sprintf("part %d", i))
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		var convs int64
		f.d.Gorm.Table("conversations").Count(&convs)
		if got := len(f.messages(f.conversationOf(customer, ourSMS))); got != 6 || convs != 1 {
			t.Fatalf("%d messages in %d conversations, want 6 in 1", got, convs)
		}
	})
}

// Regression: two runners that both found an attempt in doubt (a job whose
// lease ran out is claimed again while its first runner is still at it) both
// asked the carrier, both heard "not taken" and both sent: the "sending"
// claim only checked the state, which both saw as "sending".
func TestTwoRunnersSettlingOneAttemptInDoubtSendOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if err := f.inbound("SM1", customer, ourSMS, "hi"); err != nil {
			t.Fatal(err)
		}
		m, err := f.reply(f.conversationOf(customer, ourSMS), conversations.MessageParams{Body: ptr("on it")})
		if err != nil {
			t.Fatal(err)
		}
		// A crash long ago left the attempt in doubt; the carrier never got it.
		if err := f.d.Gorm.Exec(`UPDATE channel_deliveries SET state = 'sending', attempts = 1, date_sending = ?`, f.now().Add(-time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
		first, second := newHold(), newHold()
		f.carrier.mu.Lock()
		f.carrier.holdFind, f.carrier.holdSend = first, second
		f.carrier.mu.Unlock()
		run := func(r *jobs.Runner) chan error {
			done := make(chan error, 1)
			go func() {
				_, err := r.RunDue(f.ctx)
				done <- err
			}()
			return done
		}
		a := run(f.runner)
		<-first.entered // runner A is asking the carrier
		// A's lease runs out and runner B claims the same job.
		if err := f.d.Gorm.Exec(`UPDATE jobs SET run_at = ? WHERE kind = 'channels.deliver'`, f.now()).Error; err != nil {
			t.Fatal(err)
		}
		other := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
		other.Now = f.now
		f.ch.RegisterJobs(other)
		b := run(other)
		<-second.entered // B asked, heard nothing, claimed a new attempt and is sending
		close(first.release)
		if err := <-a; err != nil {
			t.Fatal(err)
		}
		close(second.release)
		if err := <-b; err != nil {
			t.Fatal(err)
		}
		f.runJobs(3)
		if got := f.carrier.copies(customer); got != 1 {
			t.Fatalf("carrier accepted %d copies, want 1", got)
		}
		if r := f.receipt(m); r.Status != "sent" {
			t.Fatalf("receipt = %+v", r)
		}
	})
}

// Regression: a delivery paced further out than a second deferred its job
// but kept its place in the sender's pacing; run again, it queued behind its
// own stale place, so the wait only grew and the message was never sent.
func TestADeliveryDeferredByTheSendersPaceIsSentWhenItsTurnComes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if _, err := f.ch.PutSender(f.ctx, channels.SenderParams{Address: ourSMS, ProviderSid: f.provider, RateLimit: 0.9}); err != nil {
			t.Fatal(err)
		}
		if err := f.inbound("SM1", customer, ourSMS, "hi"); err != nil {
			t.Fatal(err)
		}
		c := f.conversationOf(customer, ourSMS)
		for _, body := range []string{"one", "two"} {
			if _, err := f.reply(c, conversations.MessageParams{Body: ptr(body)}); err != nil {
				t.Fatal(err)
			}
		}
		// The pace runs on the wall clock: give the second its 1.1 s.
		for range 60 {
			if f.runJobs(1); f.carrier.copies(customer) == 2 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := f.carrier.copies(customer); got != 2 {
			t.Fatalf("carrier accepted %d of 2 messages", got)
		}
	})
}

// Regression: an attachment that could never be kept (over the 16 MB any
// carrier delivers — a WhatsApp document may be 100 MB —, without a usable
// content type, empty) failed the inbound job, and the customer's whole
// message, text and other attachments, was lost with it.
func TestAnInboundMessageArrivesWithoutAnAttachmentThatCannotBeKept(t *testing.T) {
	cases := []struct {
		name string
		bad  file
	}{
		{"larger than any carrier delivers", file{"application/pdf", bytes.Repeat([]byte("x"), 16<<20+1)}},
		{"without a content type", file{"", []byte("%PDF-1.4")}},
		{"empty", file{"application/pdf", nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				f := newFixture(t, d)
				f.carrier.files = map[string]file{
					"https://carrier.example/good": {"image/png", []byte("\x89PNG\r\n\x1a\n")},
					"https://carrier.example/bad":  tc.bad,
				}
				if err := f.webhook("tok3n", channels.Batch{Messages: []channels.Inbound{{ExternalID: "MM1", From: customer, To: ourSMS,
					Body: "here is my invoice", Source: channels.SourceSMS, Media: []channels.InboundMedia{
						{URL: "https://carrier.example/good"}, {URL: "https://carrier.example/bad"}}}}}); err != nil {
					t.Fatal(err)
				}
				f.runJobs(12)
				var sids []string
				if err := f.d.Gorm.Raw(`SELECT sid FROM messages`).Scan(&sids).Error; err != nil || len(sids) != 1 {
					t.Fatalf("messages %v (%v), want the customer's one", sids, err)
				}
				ms := f.messages(f.conversationOf(customer, ourSMS))
				var kept []conversations.Media
				if ms[0].Media != nil {
					if err := json.Unmarshal([]byte(*ms[0].Media), &kept); err != nil {
						t.Fatal(err)
					}
				}
				if *ms[0].Body != "here is my invoice" || len(kept) != 1 || kept[0].ContentType != "image/png" {
					t.Fatalf("message %q with media %+v, want the text and the picture", *ms[0].Body, kept)
				}
			})
		})
	}
}

// Regression: an account of a kind this server does not run (the dev
// simulator's, after a restart without --dev) had no factory, and calling
// the missing one panicked: in a webhook request, which nothing recovers,
// that took the whole server down.
func TestAnAccountOfAKindTheServerDoesNotRunIsRefusedNotFatal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		sealer, err := secrets.New(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		prod := channels.New(d, conversations.New(d, f.conv.AccountSid()), nil, sealer, channels.Options{PublicURL: "https://sb.example.com",
			Factories: map[string]channels.Factory{channels.KindTwilio: f.carrier.factory}})
		_, err = prod.Webhook(f.ctx, f.provider, channels.Request{Method: "POST", URL: prod.WebhookURL(f.provider),
			Header: http.Header{"X-Token": {"tok3n"}}, Body: []byte(`{}`)})
		if errs.KindOf(err) != errs.NotFound {
			t.Fatalf("err = %v, want not found", err)
		}
	})
}

// Regression: when the carrier's answer to a send was lost and its status
// callbacks settled the delivery first (here: undelivered), the job's next
// run recorded its own "sent" over them, and the message showed sent to a
// customer it never reached.
func TestACarrierFailureReportedBeforeTheJobRecordsTheSendIsKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.carrier.script = []outcome{acceptThenDrop}
		if err := f.inbound("SM1", customer, ourSMS, "hi"); err != nil {
			t.Fatal(err)
		}
		m, err := f.reply(f.conversationOf(customer, ourSMS), conversations.MessageParams{Body: ptr("on it")})
		if err != nil {
			t.Fatal(err)
		}
		f.runJobs(1)
		out := f.carrier.accepted[0]
		if err := f.webhook("tok3n", channels.Batch{Statuses: []channels.Status{{Ref: out.Ref, ExternalID: f.carrier.ids[0],
			Status: "undelivered", ErrorCode: 30003}}}); err != nil {
			t.Fatal(err)
		}
		f.runJobs(3)
		if r := f.receipt(m); r.Status != "undelivered" || r.ErrorCode != 30003 {
			t.Fatalf("receipt = %+v, want undelivered 30003", r)
		}
		if got := f.carrier.copies(customer); got != 1 {
			t.Fatalf("carrier accepted %d copies, want 1", got)
		}
	})
}

// Regression: a provider's settings were only checked for presence, so an
// account its carrier package refuses (a Twilio base URL with a path, an auth
// token twilio-go cannot send) was stored, and then every webhook and
// delivery of it failed — the deliveries without a receipt saying so.
func TestAProviderTheCarrierCannotRunIsRefusedWhenConfigured(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		sealer, err := secrets.New(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		ch := channels.New(d, conversations.New(d, f.conv.AccountSid()), nil, sealer, channels.Options{PublicURL: "https://sb.example.com",
			Factories: map[string]channels.Factory{channels.KindTwilio: func(c channels.Config) (channels.Provider, error) { return twiliomsg.New(c, nil) }}})
		ac := "AC" + strings.Repeat("0", 32)
		cases := []struct {
			name string
			p    channels.ProviderParams
		}{
			{"a base URL with a path", channels.ProviderParams{BaseURL: ptr("https://proxy.example.com/twilio")}},
			{"an auth token twilio-go cannot send", channels.ProviderParams{Secret: ptr("not-a-token!")}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := tc.p
				p.Kind, p.AccountID = ptr(channels.KindTwilio), ptr(ac)
				if p.Secret == nil {
					p.Secret = ptr("0123456789abcdef0123456789abcdef")
				}
				if _, err := ch.CreateProvider(f.ctx, p); errs.KindOf(err) != errs.Invalid {
					t.Fatalf("create: err = %v, want invalid", err)
				}
				good, err := ch.CreateProvider(f.ctx, channels.ProviderParams{Kind: ptr(channels.KindTwilio), AccountID: ptr(ac),
					Secret: ptr("0123456789abcdef0123456789abcdef")})
				if err != nil {
					t.Fatal(err)
				}
				tc.p.Kind = nil
				if _, err := ch.UpdateProvider(f.ctx, good.Sid, tc.p); errs.KindOf(err) != errs.Invalid {
					t.Fatalf("update: err = %v, want invalid", err)
				}
				if got, err := ch.Provider(f.ctx, good.Sid); err != nil || !got.DateUpdated.Equal(good.DateUpdated) {
					t.Fatalf("a refused update changed the provider: %+v, %v", got, err)
				}
			})
		}
	})
}
