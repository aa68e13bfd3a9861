package whatsapp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/whatsapp"
	"github.com/switchboardhq/switchboard/internal/channels/whatsapp/metafake"
	"github.com/switchboardhq/switchboard/internal/errs"
)

const (
	graph     = "https://graph.test/v21.0"
	appSecret = "app-secret"
	hookURL   = "https://switchboard.example/channels/PA1"
)

// parser is a provider for parsing alone: its Graph URL is never called.
func parser(t testing.TB) *whatsapp.Provider {
	t.Helper()
	p, err := whatsapp.New(channels.Config{Secret: "token", AppSecret: appSecret, VerifyToken: "verify-me", BaseURL: graph}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signedPost is a webhook POST as Meta signs it.
func signedPost(body []byte) channels.Request {
	return channels.Request{
		Method: http.MethodPost,
		URL:    hookURL,
		Header: http.Header{"Content-Type": {"application/json"}, metafake.SignatureHeader: {metafake.Sign(appSecret, body)}},
		Body:   body,
	}
}

// envelope wraps one change value in Meta's webhook payload.
func envelope(value string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":` + value + `}]}]}`)
}

// messageValue is a value carrying one message from Ada to our number.
func messageValue(msg string) string {
	return `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
		`"contacts":[{"profile":{"name":"Ada"},"wa_id":"447700900123"}],"messages":[` + msg + `]}`
}

// inbound is the Inbound every case starts from, with the attributes each
// message carries.
func inbound(id, typ, body string, attrs map[string]any) channels.Inbound {
	a := map[string]any{"phone_number_id": "106540352242922", "message_type": typ}
	for k, v := range attrs {
		a[k] = v
	}
	return channels.Inbound{ExternalID: id, From: "whatsapp:+447700900123", To: "whatsapp:+15550783881", Body: body,
		ProfileName: "Ada", Attributes: a, Source: channels.SourceWhatsApp}
}

func withMedia(in channels.Inbound, m ...channels.InboundMedia) channels.Inbound {
	in.Media = m
	return in
}

// inboundCases are messages as Meta sends them; they seed FuzzParse too.
var inboundCases = []struct {
	name string
	msg  string
	want channels.Inbound
}{
	{"text", `{"from":"447700900123","id":"wamid.T1","timestamp":"1739321024","type":"text","text":{"body":"Hello, is anyone there?"}}`,
		inbound("wamid.T1", "text", "Hello, is anyone there?", nil)},
	{"a reply keeps the message it replies to", `{"context":{"from":"15550783881","id":"wamid.OURS"},"from":"447700900123","id":"wamid.T2","timestamp":"1739321024","type":"text","text":{"body":"yes"}}`,
		inbound("wamid.T2", "text", "yes", map[string]any{"reply_to": "wamid.OURS"})},
	{"a forwarded text says so", `{"context":{"forwarded":true,"frequently_forwarded":true},"from":"447700900123","id":"wamid.T3","timestamp":"1","type":"text","text":{"body":"fwd"}}`,
		inbound("wamid.T3", "text", "fwd", map[string]any{"forwarded": true, "frequently_forwarded": true})},
	{"an ad referral is kept", `{"referral":{"source_url":"https://fb.me/x","source_type":"ad","ctwa_clid":"abc"},"from":"447700900123","id":"wamid.T4","timestamp":"1","type":"text","text":{"body":"about the ad"}}`,
		inbound("wamid.T4", "text", "about the ad", map[string]any{"referral": map[string]any{"source_url": "https://fb.me/x", "source_type": "ad", "ctwa_clid": "abc"}})},
	{"an image's caption is the body", `{"from":"447700900123","id":"wamid.I1","timestamp":"1","type":"image","image":{"caption":"my receipt","mime_type":"image/jpeg","sha256":"abc=","id":"1003383421387256"}}`,
		withMedia(inbound("wamid.I1", "image", "my receipt", nil), channels.InboundMedia{URL: graph + "/1003383421387256", ContentType: "image/jpeg"})},
	{"video", `{"from":"447700900123","id":"wamid.V1","timestamp":"1","type":"video","video":{"mime_type":"video/mp4","sha256":"x","id":"222"}}`,
		withMedia(inbound("wamid.V1", "video", "", nil), channels.InboundMedia{URL: graph + "/222", ContentType: "video/mp4"})},
	{"a voice note", `{"from":"447700900123","id":"wamid.A1","timestamp":"1","type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"x","id":"333","voice":true}}`,
		withMedia(inbound("wamid.A1", "audio", "", map[string]any{"voice": true}), channels.InboundMedia{URL: graph + "/333", ContentType: "audio/ogg; codecs=opus"})},
	{"a document keeps its filename", `{"from":"447700900123","id":"wamid.D1","timestamp":"1","type":"document","document":{"caption":"contract","filename":"contract.pdf","mime_type":"application/pdf","sha256":"x","id":"444"}}`,
		withMedia(inbound("wamid.D1", "document", "contract", nil), channels.InboundMedia{URL: graph + "/444", ContentType: "application/pdf", Filename: "contract.pdf"})},
	{"a sticker", `{"from":"447700900123","id":"wamid.S1","timestamp":"1","type":"sticker","sticker":{"mime_type":"image/webp","sha256":"x","id":"555","animated":true}}`,
		withMedia(inbound("wamid.S1", "sticker", "", map[string]any{"animated": true}), channels.InboundMedia{URL: graph + "/555", ContentType: "image/webp"})},
	{"a location", `{"from":"447700900123","id":"wamid.L1","timestamp":"1","type":"location","location":{"latitude":37.483307,"longitude":-122.148981,"name":"Pablo Morales","address":"1 Hacker Way, Menlo Park, CA 94025"}}`,
		inbound("wamid.L1", "location", "Location: Pablo Morales, 1 Hacker Way, Menlo Park, CA 94025 (37.483307, -122.148981)",
			map[string]any{"location": map[string]any{"latitude": 37.483307, "longitude": -122.148981, "name": "Pablo Morales", "address": "1 Hacker Way, Menlo Park, CA 94025"}})},
	{"a bare location", `{"from":"447700900123","id":"wamid.L2","timestamp":"1","type":"location","location":{"latitude":51.5,"longitude":0}}`,
		inbound("wamid.L2", "location", "Location: 51.5, 0", map[string]any{"location": map[string]any{"latitude": 51.5, "longitude": 0.0}})},
	{"a template quick-reply button", `{"context":{"from":"15550783881","id":"wamid.TPL"},"from":"447700900123","id":"wamid.B1","timestamp":"1","type":"button","button":{"payload":"STOP_PROMOS","text":"Stop promotions"}}`,
		inbound("wamid.B1", "button", "Stop promotions", map[string]any{"reply_to": "wamid.TPL", "button": map[string]any{"text": "Stop promotions", "payload": "STOP_PROMOS"}})},
	{"an interactive button reply", `{"from":"447700900123","id":"wamid.X1","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"cancel-button","title":"Cancel"}}}`,
		inbound("wamid.X1", "interactive", "Cancel", map[string]any{"interactive": map[string]any{"type": "button_reply", "id": "cancel-button", "title": "Cancel", "description": ""}})},
	{"an interactive list reply", `{"from":"447700900123","id":"wamid.X2","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"row-2","title":"Priority","description":"Next day"}}}`,
		inbound("wamid.X2", "interactive", "Priority", map[string]any{"interactive": map[string]any{"type": "list_reply", "id": "row-2", "title": "Priority", "description": "Next day"}})},
	{"another interactive reply is kept", `{"from":"447700900123","id":"wamid.X3","timestamp":"1","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","response_json":"{}"}}}`,
		inbound("wamid.X3", "interactive", "Replied to an interactive message (nfm_reply)", map[string]any{"interactive": map[string]any{"type": "nfm_reply"}})},
	{"a reaction", `{"from":"447700900123","id":"wamid.R1","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.OURS","emoji":"👍"}}`,
		inbound("wamid.R1", "reaction", "Reacted 👍", map[string]any{"reaction": map[string]any{"message_id": "wamid.OURS", "emoji": "👍"}})},
	{"a removed reaction", `{"from":"447700900123","id":"wamid.R2","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.OURS"}}`,
		inbound("wamid.R2", "reaction", "Removed a reaction", map[string]any{"reaction": map[string]any{"message_id": "wamid.OURS", "emoji": ""}})},
	{"an unsupported message is kept with its error", `{"from":"447700900123","id":"wamid.U1","timestamp":"1","errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}],"type":"unsupported","unsupported":{"type":"poll_update"}}`,
		inbound("wamid.U1", "unsupported", "Sent a message WhatsApp's Cloud API does not support (poll_update)",
			map[string]any{"unsupported_type": "poll_update", "error_code": 131051, "error": "Message type unknown: Message type is currently not supported."})},
	{"a type this parser does not know is kept", `{"from":"447700900123","id":"wamid.C1","timestamp":"1","type":"contacts","contacts":[{"name":{"formatted_name":"Bob"}}]}`,
		inbound("wamid.C1", "contacts", "Sent a WhatsApp contacts message, which cannot be shown here", nil)},
}

func TestParseEachInboundType(t *testing.T) {
	p := parser(t)
	for _, c := range inboundCases {
		t.Run(c.name, func(t *testing.T) {
			b, err := p.Parse(signedPost(envelope(messageValue(c.msg))))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != 1 || len(b.Statuses) != 0 || b.Reply != nil {
				t.Fatalf("batch = %+v, want one message", b)
			}
			if got := b.Messages[0]; !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestParseMatchesSendersToTheirContacts(t *testing.T) {
	value := `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"+1 555-078-3881","phone_number_id":"106540352242922"},` +
		`"contacts":[{"profile":{"name":"Ada"},"wa_id":"447700900123"},{"profile":{"name":"Bob"},"wa_id":"447700900456"}],"messages":[` +
		`{"from":"447700900456","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"from Bob"}},` +
		`{"from":"447700900123","id":"wamid.2","timestamp":"1","type":"text","text":{"body":"from Ada"}}]}`
	b, err := parser(t).Parse(signedPost(envelope(value)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range b.Messages {
		got = append(got, m.ProfileName+" "+m.From+" → "+m.To)
	}
	want := []string{"Bob whatsapp:+447700900456 → whatsapp:+15550783881", "Ada whatsapp:+447700900123 → whatsapp:+15550783881"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseStatusesCarryOurRefAndMetasErrors(t *testing.T) {
	f := newFake(t, metafake.Config{})
	body, err := f.StatusesPayload(
		metafake.Status{MessageID: "wamid.A", Ref: "DL1", Status: "sent", Recipient: "447700900123"},
		metafake.Status{MessageID: "wamid.A", Ref: "DL1", Status: "delivered", Recipient: "447700900123"},
		metafake.Status{MessageID: "wamid.A", Ref: "DL1", Status: "read", Recipient: "447700900123"},
		metafake.Status{MessageID: "wamid.B", Ref: "DL2", Status: "failed", Recipient: "447700900123", ErrorCode: 131047, ErrorTitle: "Re-engagement message"},
		metafake.Status{MessageID: "wamid.C", Status: "delivered", Recipient: "447700900123"},
		metafake.Status{MessageID: "wamid.A", Ref: "DL1", Status: "deleted", Recipient: "447700900123"},
	)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parser(t).Parse(signedPost(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []channels.Status{
		{Ref: "DL1", ExternalID: "wamid.A", Status: channels.StatusSent},
		{Ref: "DL1", ExternalID: "wamid.A", Status: channels.StatusDelivered},
		{Ref: "DL1", ExternalID: "wamid.A", Status: channels.StatusRead},
		{Ref: "DL2", ExternalID: "wamid.B", Status: channels.StatusFailed, ErrorCode: 131047, Error: "Re-engagement message"},
		{ExternalID: "wamid.C", Status: channels.StatusDelivered},
	}
	if len(b.Messages) != 0 || !reflect.DeepEqual(b.Statuses, want) {
		t.Errorf("got %+v\nwant %+v", b, want)
	}
}

func TestParseVerificationHandshake(t *testing.T) {
	get := func(query string) channels.Request {
		return channels.Request{Method: http.MethodGet, URL: hookURL + "?" + query}
	}
	cases := []struct {
		name  string
		req   channels.Request
		reply string // the challenge echoed, or
		fails string // "unauthorized" or "invalid"
	}{
		{"the right token gets the challenge back", get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me"), "1158201444", ""},
		{"a wrong token is unauthorized", get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess"), "", "unauthorized"},
		{"no token is unauthorized", get("hub.mode=subscribe&hub.challenge=1"), "", "unauthorized"},
		{"another mode is invalid", get("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me"), "", "invalid"},
		{"no challenge is invalid", get("hub.mode=subscribe&hub.verify_token=verify-me"), "", "invalid"},
		{"a PUT is invalid", channels.Request{Method: http.MethodPut, URL: hookURL}, "", "invalid"},
	}
	p := parser(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := p.Parse(c.req)
			switch c.fails {
			case "unauthorized":
				if !errors.Is(err, channels.ErrUnauthorized) {
					t.Fatalf("err = %v, want ErrUnauthorized", err)
				}
			case "invalid":
				if errs.KindOf(err) != errs.Invalid {
					t.Fatalf("err = %v, want errs.Invalid", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if b.Reply == nil || b.Reply.ContentType != "text/plain" || string(b.Reply.Body) != c.reply {
					t.Fatalf("reply = %+v, want text/plain %q", b.Reply, c.reply)
				}
			}
		})
	}
	noToken, err := whatsapp.New(channels.Config{Secret: "t", AppSecret: appSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noToken.Parse(get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=")); !errors.Is(err, channels.ErrUnauthorized) {
		t.Errorf("an account without a verify token accepted an empty one: %v", err)
	}
}

func TestParseChecksTheSignature(t *testing.T) {
	body := envelope(messageValue(inboundCases[0].msg))
	good := metafake.Sign(appSecret, body)
	cases := []struct {
		name   string
		header string
		body   []byte
		ok     bool
	}{
		{"Meta's signature", good, body, true},
		{"upper-case hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), body, true},
		{"signed with another secret", metafake.Sign("other", body), body, false},
		{"a tampered body", good, []byte(strings.Replace(string(body), "anyone", "someone", 1)), false},
		{"no signature", "", body, false},
		{"the hex without its prefix", strings.TrimPrefix(good, "sha256="), body, false},
		{"a SHA-1 signature", "sha1=" + strings.TrimPrefix(good, "sha256="), body, false},
		{"not hex", "sha256=zz", body, false},
		{"a truncated signature", good[:len(good)-2], body, false},
	}
	p := parser(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := signedPost(c.body)
			req.Header.Del(metafake.SignatureHeader)
			if c.header != "" {
				req.Header.Set(metafake.SignatureHeader, c.header)
			}
			_, err := p.Parse(req)
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok && !errors.Is(err, channels.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

// malformedBodies are signed bodies that are not what Meta sends; they seed
// FuzzParse too.
var malformedBodies = []struct {
	name string
	body string
}{
	{"not JSON", `{"object":`},
	{"another object", `{"object":"page","entry":[]}`},
	{"a message without an id", string(envelope(messageValue(`{"from":"447700900123","timestamp":"1","type":"text","text":{"body":"x"}}`)))},
	{"a message without a type", string(envelope(messageValue(`{"from":"447700900123","id":"wamid.1","timestamp":"1","text":{"body":"x"}}`)))},
	{"a sender that is not a number", string(envelope(messageValue(`{"from":"ada","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"x"}}`)))},
	{"a text without its text", string(envelope(messageValue(`{"from":"447700900123","id":"wamid.1","timestamp":"1","type":"text"}`)))},
	{"an image without a media id", string(envelope(messageValue(`{"from":"447700900123","id":"wamid.1","timestamp":"1","type":"image","image":{"mime_type":"image/jpeg"}}`)))},
	{"a location without its location", string(envelope(messageValue(`{"from":"447700900123","id":"wamid.1","timestamp":"1","type":"location"}`)))},
	{"a latitude that is a string", string(envelope(messageValue(`{"from":"447700900123","id":"wamid.1","timestamp":"1","type":"location","location":{"latitude":"51.5","longitude":0}}`)))},
	{"a reaction without its reaction", string(envelope(messageValue(`{"from":"447700900123","id":"wamid.1","timestamp":"1","type":"reaction"}`)))},
	{"no metadata", string(envelope(`{"messaging_product":"whatsapp","messages":[{"from":"447700900123","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"x"}}]}`))},
	{"a status without an id", string(envelope(`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"1"},"statuses":[{"status":"sent"}]}`))},
	{"an error code that is not a number", string(envelope(`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"1"},"statuses":[{"id":"wamid.1","status":"failed","errors":[{"code":"soon"}]}]}`))},
}

func TestParseRefusesMalformedPayloads(t *testing.T) {
	p := parser(t)
	for _, c := range malformedBodies {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.Parse(signedPost([]byte(c.body)))
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("err = %v, want errs.Invalid", err)
			}
		})
	}
}

func TestParseIgnoresOtherWebhookFields(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update",` +
		`"value":{"event":"APPROVED","message_template_id":1,"message_template_name":"order_update","message_template_language":"en_US"}}]}]}`
	b, err := parser(t).Parse(signedPost([]byte(body)))
	if err != nil || len(b.Messages)+len(b.Statuses) != 0 || b.Reply != nil {
		t.Fatalf("batch = %+v, err = %v; want an empty batch", b, err)
	}
}

// hook serves a provider's Parse over HTTP the way the web layer will, so
// that the fake can play Meta toward it.
type hook struct {
	mu      sync.Mutex
	batches []channels.Batch
}

func (h *hook) ServeHTTP(p *whatsapp.Provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b, err := p.Parse(channels.Request{Method: r.Method, URL: "http://" + r.Host + r.URL.String(), Header: r.Header, Body: body})
		switch {
		case errors.Is(err, channels.ErrUnauthorized):
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.batches = append(h.batches, b)
		h.mu.Unlock()
		if b.Reply != nil {
			w.Header().Set("Content-Type", b.Reply.ContentType)
			w.Write(b.Reply.Body)
		}
	})
}

func TestFakeMetaPlaysTheWebhooksOurParserReads(t *testing.T) {
	f := newFake(t, metafake.Config{})
	p := newProvider(t, f.ProviderConfig())
	h := &hook{}
	srv := httptest.NewServer(h.ServeHTTP(p))
	defer srv.Close()
	ctx := context.Background()

	if status, err := f.Verify(ctx, srv.URL, metafake.DefaultVerifyToken); err != nil || status != http.StatusOK {
		t.Fatalf("verification with the right token: %d %v", status, err)
	}
	if status, _ := f.Verify(ctx, srv.URL, "wrong"); status != http.StatusForbidden {
		t.Fatalf("verification with a wrong token answered %d, want 403", status)
	}

	ids, err := f.PostMessages(ctx, srv.URL,
		metafake.Inbound{From: "+447700900123", Name: "Ada", Text: "hi"},
		metafake.Inbound{From: "447700900123", Name: "Ada", Media: &metafake.Media{Data: []byte("JPEG"), MIMEType: "image/jpeg", Caption: "receipt"}},
		metafake.Inbound{From: "whatsapp:+447700900123", Name: "Ada", ReplyTo: "wamid.OURS", Media: &metafake.Media{Kind: "document", Data: []byte("%PDF"), MIMEType: "application/pdf", Filename: "a.pdf"}},
		metafake.Inbound{From: "447700900123", Name: "Ada", Location: &metafake.Location{Latitude: 1.5, Longitude: -2, Name: "Home"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.PostStatuses(ctx, srv.URL, metafake.Status{MessageID: "wamid.X", Ref: "DL9", Status: "delivered", Recipient: "447700900123"}); err != nil {
		t.Fatal(err)
	}
	if status, err := f.Post(ctx, srv.URL, []byte(`{"object":"whatsapp_business_account","entry":[]}`)); err != nil || status != http.StatusOK {
		t.Fatalf("a signed empty webhook: %d %v", status, err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.batches) != 4 {
		t.Fatalf("got %d batches, want the verification, the messages, the status and the empty one", len(h.batches))
	}
	msgs := h.batches[1].Messages
	var got []string
	for i, m := range msgs {
		if m.ExternalID != ids[i] || m.ProfileName != "Ada" || m.From != "whatsapp:+447700900123" || m.To != "whatsapp:+"+metafake.DefaultDisplayPhoneNumber {
			t.Errorf("message %d: %+v", i, m)
		}
		got = append(got, fmt.Sprintf("%s %q %d %v", m.Attributes["message_type"], m.Body, len(m.Media), m.Attributes["reply_to"]))
	}
	want := []string{`text "hi" 0 <nil>`, `image "receipt" 1 <nil>`, `document "" 1 wamid.OURS`, `location "Location: Home (1.5, -2)" 0 <nil>`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if st := h.batches[2].Statuses; len(st) != 1 || st[0].Ref != "DL9" || st[0].Status != channels.StatusDelivered {
		t.Errorf("statuses = %+v", st)
	}

	// The inbound image is fetched from the fake in Meta's two steps.
	body, ct, err := p.FetchMedia(ctx, msgs[1].Media[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	data, _ := io.ReadAll(body)
	if string(data) != "JPEG" || ct != "image/jpeg" {
		t.Errorf("fetched %q as %q", data, ct)
	}
	noProblems(t, f)
}
