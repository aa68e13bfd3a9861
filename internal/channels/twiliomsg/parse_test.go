package twiliomsg

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/twiliomsg/twiliofake"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/twiliosig"
)

// post is a form POST to rawURL signed with token, as Twilio sends webhooks.
func post(token, rawURL string, params url.Values) channels.Request {
	return channels.Request{
		Method: http.MethodPost, URL: rawURL, Body: []byte(params.Encode()),
		Header: http.Header{twiliosig.Header: {twiliosig.Sign(token, rawURL, params)},
			"Content-Type": {"application/x-www-form-urlencoded"}},
	}
}

// get is the same webhook configured for GET: the params are in the signed URL.
func get(token, rawURL string, params url.Values) channels.Request {
	full := rawURL + "?" + params.Encode()
	return channels.Request{Method: http.MethodGet, URL: full, Header: http.Header{twiliosig.Header: {twiliosig.Sign(token, full, nil)}}}
}

func TestParseInboundMessages(t *testing.T) {
	fake := newFake(t)
	p := newProvider(t, fake.Config(webhookURL), nil)
	sms := fake.SMS("+15551230001", "+15557654321", "Hi, my order is late")
	mms := fake.MMS("+15551230001", "+15557654321", "Here it is",
		twiliofake.Media{ContentType: "image/jpeg", Data: []byte("jpeg")}, twiliofake.Media{ContentType: "application/pdf", Data: []byte("pdf")})
	wa := fake.WhatsApp("+447700900123", "+15557654321", "Olá 👋", "Ana Souza")
	location := fake.WhatsApp("+447700900123", "+15557654321", "", "Ana Souza")
	for k, v := range map[string]string{"Latitude": "38.7223", "Longitude": "-9.1393", "Address": "Praça do Comércio", "Label": "Home",
		"MessageType": "location", "Forwarded": "true", "ReferralCtwaClid": "ARAkLkA", "OriginalRepliedMessageSid": "SM" + strings.Repeat("c", 32),
		"ButtonText": "Yes", "ButtonPayload": "yes", "FrequentlyForwarded": "false", "MessagingServiceSid": "MG" + strings.Repeat("d", 32)} {
		location.Set(k, v)
	}
	legacy := fake.SMS("+15551230001", "+15557654321", "old names")
	legacy.Del("MessageSid")
	legacy.Del("SmsMessageSid")
	unknown := fake.SMS("+15551230001", "+15557654321", "new params")
	unknown.Set("SomeFutureParam", "x")

	geo := map[string]any{"FromCity": "SAN FRANCISCO", "FromState": "CA", "FromZip": "94105", "FromCountry": "US",
		"ToCity": "BROOKLYN", "ToState": "NY", "ToZip": "11201", "ToCountry": "US", "NumSegments": "1"}
	cases := []struct {
		name   string
		req    channels.Request
		params url.Values
		want   channels.Inbound
	}{
		{"SMS", post(fake.AuthToken, webhookURL, sms), sms, channels.Inbound{
			From: "+15551230001", To: "+15557654321", Body: "Hi, my order is late", Source: channels.SourceSMS, Attributes: geo}},
		{"SMS to a GET webhook", get(fake.AuthToken, webhookURL, sms), sms, channels.Inbound{
			From: "+15551230001", To: "+15557654321", Body: "Hi, my order is late", Source: channels.SourceSMS, Attributes: geo}},
		{"MMS with two media", post(fake.AuthToken, webhookURL, mms), mms, channels.Inbound{
			From: "+15551230001", To: "+15557654321", Body: "Here it is", Source: channels.SourceSMS, Attributes: geo,
			Media: []channels.InboundMedia{{URL: mms.Get("MediaUrl0"), ContentType: "image/jpeg"}, {URL: mms.Get("MediaUrl1"), ContentType: "application/pdf"}}}},
		{"WhatsApp", post(fake.AuthToken, webhookURL, wa), wa, channels.Inbound{
			From: "whatsapp:+447700900123", To: "whatsapp:+15557654321", Body: "Olá 👋", ProfileName: "Ana Souza", Source: channels.SourceWhatsApp,
			Attributes: map[string]any{"WaId": "447700900123", "MessageType": "text", "NumSegments": "1"}}},
		{"WhatsApp location with every extra", post(fake.AuthToken, webhookURL, location), location, channels.Inbound{
			From: "whatsapp:+447700900123", To: "whatsapp:+15557654321", ProfileName: "Ana Souza", Source: channels.SourceWhatsApp,
			Attributes: map[string]any{"WaId": "447700900123", "MessageType": "location", "NumSegments": "1",
				"Latitude": "38.7223", "Longitude": "-9.1393", "Address": "Praça do Comércio", "Label": "Home",
				"Forwarded": "true", "FrequentlyForwarded": "false", "ReferralCtwaClid": "ARAkLkA",
				"OriginalRepliedMessageSid": "SM" + strings.Repeat("c", 32), "ButtonText": "Yes", "ButtonPayload": "yes",
				"MessagingServiceSid": "MG" + strings.Repeat("d", 32)}}},
		{"legacy SmsSid only", post(fake.AuthToken, webhookURL, legacy), legacy, channels.Inbound{
			From: "+15551230001", To: "+15557654321", Body: "old names", Source: channels.SourceSMS, Attributes: geo}},
		{"a parameter Twilio added since", post(fake.AuthToken, webhookURL, unknown), unknown, channels.Inbound{
			From: "+15551230001", To: "+15557654321", Body: "new params", Source: channels.SourceSMS, Attributes: geo}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := p.Parse(c.req)
			if err != nil {
				t.Fatal(err)
			}
			c.want.ExternalID = c.params.Get("SmsSid")
			if len(b.Messages) != 1 || len(b.Statuses) != 0 {
				t.Fatalf("got %+v, want one message", b)
			}
			if !reflect.DeepEqual(b.Messages[0], c.want) {
				t.Errorf("got\n %+v\nwant\n %+v", b.Messages[0], c.want)
			}
			if b.Reply == nil || b.Reply.ContentType != "text/xml" ||
				string(b.Reply.Body) != `<?xml version="1.0" encoding="UTF-8"?><Response></Response>` {
				t.Errorf("reply %+v, want empty TwiML", b.Reply)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	fake := newFake(t)
	p := newProvider(t, fake.Config(webhookURL), nil)
	token := fake.AuthToken
	sms := func(edit func(url.Values)) url.Values {
		v := fake.SMS("+15551230001", "+15557654321", "hello")
		edit(v)
		return v
	}
	tampered := post(token, webhookURL, sms(func(url.Values) {}))
	tampered.Body = []byte(strings.Replace(string(tampered.Body), "Body=hello", "Body=goodbye", 1))
	added := post(token, webhookURL, sms(func(url.Values) {}))
	added.Body = append(added.Body, "&Extra=1"...)
	repeated := post(token, webhookURL, sms(func(url.Values) {}))
	repeated.Body = append(repeated.Body, "&Body=again"...)
	unsigned := post(token, webhookURL, sms(func(url.Values) {}))
	unsigned.Header.Del(twiliosig.Header)
	otherURL := post(token, webhookURL, sms(func(url.Values) {}))
	otherURL.URL = webhookURL + "?ref=OD1"
	getTampered := get(token, webhookURL, sms(func(url.Values) {}))
	getTampered.URL = strings.Replace(getTampered.URL, "Body=hello", "Body=goodbye", 1)
	put := post(token, webhookURL, sms(func(url.Values) {}))
	put.Method = http.MethodPut
	status := fake.StatusParams(twiliofake.Message{Sid: "SM" + strings.Repeat("e", 32), From: "+15557654321", To: "+15551230001"}, "failed", 0)
	status.Set("ErrorCode", "thirty")

	cases := []struct {
		name string
		req  channels.Request
		want errs.Kind // Unauthorized stands for channels.ErrUnauthorized
	}{
		{"a signature made with another token", post("othertoken", webhookURL, sms(func(url.Values) {})), errs.Unauthorized},
		{"no signature", unsigned, errs.Unauthorized},
		{"a tampered parameter", tampered, errs.Unauthorized},
		{"an added parameter", added, errs.Unauthorized},
		{"a repeated parameter the signature cannot cover", repeated, errs.Unauthorized},
		{"a signature for another URL", otherURL, errs.Unauthorized},
		{"a tampered GET query", getTampered, errs.Unauthorized},
		{"a method Twilio does not use", put, errs.Invalid},
		{"a body that is not a form", channels.Request{Method: http.MethodPost, URL: webhookURL, Body: []byte("%zz")}, errs.Invalid},
		{"no From", post(token, webhookURL, sms(func(v url.Values) { v.Del("From") })), errs.Invalid},
		{"no To", post(token, webhookURL, sms(func(v url.Values) { v.Del("To") })), errs.Invalid},
		{"no message SID", post(token, webhookURL, sms(func(v url.Values) { v.Del("MessageSid"); v.Del("SmsMessageSid"); v.Del("SmsSid") })), errs.Invalid},
		{"NumMedia above the MediaUrls", post(token, webhookURL, sms(func(v url.Values) { v.Set("NumMedia", "2"); v.Set("MediaUrl0", "https://api.twilio.com/m") })), errs.Invalid},
		{"a MediaUrl beyond NumMedia", post(token, webhookURL, sms(func(v url.Values) { v.Set("MediaUrl0", "https://api.twilio.com/m") })), errs.Invalid},
		{"a MediaContentType beyond NumMedia", post(token, webhookURL, sms(func(v url.Values) { v.Set("MediaContentType3", "image/png") })), errs.Invalid},
		{"more than ten media", post(token, webhookURL, sms(func(v url.Values) { v.Set("NumMedia", "11") })), errs.Invalid},
		{"NumMedia not a number", post(token, webhookURL, sms(func(v url.Values) { v.Set("NumMedia", "two") })), errs.Invalid},
		{"a MediaUrl that is not http", post(token, webhookURL, sms(func(v url.Values) { v.Set("NumMedia", "1"); v.Set("MediaUrl0", "file:///etc/passwd") })), errs.Invalid},
		{"a body that is not UTF-8", post(token, webhookURL, sms(func(v url.Values) { v.Set("Body", "\xff\xfe") })), errs.Invalid},
		{"a NUL in a value", post(token, webhookURL, sms(func(v url.Values) { v.Set("ProfileName", "a\x00b") })), errs.Invalid},
		{"WhatsApp to an SMS number", post(token, webhookURL, sms(func(v url.Values) { v.Set("From", "whatsapp:+15551230001") })), errs.Invalid},
		{"a status callback's ErrorCode not a number", post(token, webhookURL+"?ref=OD1", status), errs.Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := p.Parse(c.req)
			switch {
			case err == nil:
				t.Fatalf("accepted: %+v", b)
			case c.want == errs.Unauthorized && !errors.Is(err, channels.ErrUnauthorized):
				t.Fatalf("got %v, want ErrUnauthorized", err)
			case c.want != errs.Unauthorized && errs.KindOf(err) != c.want:
				t.Fatalf("got %v, want kind %v", err, c.want)
			}
		})
	}
}

func TestParseStatusCallbacks(t *testing.T) {
	fake := newFake(t)
	p := newProvider(t, fake.Config(webhookURL), nil)
	smsMsg := twiliofake.Message{Sid: "SM" + strings.Repeat("1", 32), From: "+15557654321", To: "+15551230001"}
	waMsg := twiliofake.Message{Sid: "SM" + strings.Repeat("2", 32), From: "whatsapp:+15557654321", To: "whatsapp:+447700900123"}
	const ref = "OD" + "0123456789abcdef0123456789abcdef"
	callback := webhookURL + "?ref=" + ref
	cases := []struct {
		name   string
		msg    twiliofake.Message
		status string
		code   int
		want   *channels.Status // nil: ignored
	}{
		{"sent", smsMsg, "sent", 0, &channels.Status{Status: channels.StatusSent}},
		{"delivered", smsMsg, "delivered", 0, &channels.Status{Status: channels.StatusDelivered}},
		{"undelivered with Twilio's error code", smsMsg, "undelivered", 30003, &channels.Status{Status: channels.StatusUndelivered, ErrorCode: 30003}},
		{"failed", smsMsg, "failed", 30007, &channels.Status{Status: channels.StatusFailed, ErrorCode: 30007}},
		{"WhatsApp read", waMsg, "read", 0, &channels.Status{Status: channels.StatusRead}},
		{"WhatsApp failed outside the window, with its text", waMsg, "failed", 63016,
			&channels.Status{Status: channels.StatusFailed, ErrorCode: 63016, Error: "Message failed with error 63016"}},
		{"queued is ignored", smsMsg, "queued", 0, nil},
		{"accepted is ignored", smsMsg, "accepted", 0, nil},
		{"sending is ignored", smsMsg, "sending", 0, nil},
		{"scheduled is ignored", smsMsg, "scheduled", 0, nil},
		{"canceled is ignored", smsMsg, "canceled", 0, nil},
		{"a status Twilio adds later is ignored", smsMsg, "partially_delivered", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := p.Parse(post(fake.AuthToken, callback, fake.StatusParams(c.msg, c.status, c.code)))
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != 0 || b.Reply != nil {
				t.Fatalf("a status callback gave %+v", b)
			}
			if c.want == nil {
				if len(b.Statuses) != 0 {
					t.Fatalf("got %+v, want nothing", b.Statuses)
				}
				return
			}
			want := *c.want
			want.Ref, want.ExternalID = ref, c.msg.Sid
			if len(b.Statuses) != 1 || !reflect.DeepEqual(b.Statuses[0], want) {
				t.Fatalf("got %+v, want %+v", b.Statuses, want)
			}
		})
	}
}

// TestWebhooksFromTheFakeReachOurHandler plays the whole exchange over HTTP:
// the fake signs as Twilio does, a handler hands Parse what it received.
func TestWebhooksFromTheFakeReachOurHandler(t *testing.T) {
	fake := newFake(t)
	var p *Provider
	parsed := make(chan channels.Batch, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b, err := p.Parse(channels.Request{Method: r.Method, URL: "http://" + r.Host + r.URL.RequestURI(), Header: r.Header, Body: body})
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		parsed <- b
		if b.Reply != nil {
			w.Header().Set("Content-Type", b.Reply.ContentType)
			_, _ = w.Write(b.Reply.Body)
		}
	}))
	t.Cleanup(srv.Close)
	hook := srv.URL + "/v1/Channels/Providers/PA1/Webhook"
	p = newProvider(t, fake.Config(hook), nil)
	ctx := context.Background()

	ans, err := fake.SendInbound(ctx, hook, fake.WhatsApp("+447700900123", "+15557654321", "hello", "Ana"))
	if err != nil || ans.Status != http.StatusOK || ans.Header.Get("Content-Type") != "text/xml" || !strings.Contains(string(ans.Body), "<Response>") {
		t.Fatalf("inbound answered %+v, %v", ans, err)
	}
	if b := <-parsed; len(b.Messages) != 1 || b.Messages[0].ProfileName != "Ana" {
		t.Fatalf("parsed %+v", b)
	}

	id, err := p.Send(ctx, channels.Outbound{From: "+15557654321", To: "+15551230001", Body: "hi", StatusCallback: hook + "?ref=OD42"})
	if err != nil {
		t.Fatal(err)
	}
	ans, err = fake.Report(ctx, id, "delivered", 0)
	if err != nil || ans.Status != http.StatusOK || len(ans.Body) != 0 {
		t.Fatalf("status callback answered %+v, %v", ans, err)
	}
	want := channels.Status{Ref: "OD42", ExternalID: id, Status: channels.StatusDelivered}
	if b := <-parsed; len(b.Statuses) != 1 || b.Statuses[0] != want {
		t.Fatalf("parsed %+v, want %+v", b, want)
	}
}

// FuzzParse feeds the parser arbitrary forms and URL queries, signed so that
// the code past the signature check runs. It must never panic, and must
// return either a well-formed batch or an invalid/unauthorized error.
func FuzzParse(f *testing.F) {
	fake := twiliofake.New()
	f.Cleanup(fake.Close)
	p, err := New(fake.Config(webhookURL), nil)
	if err != nil {
		f.Fatal(err)
	}
	mms := fake.MMS("+15551230001", "+15557654321", "pic", twiliofake.Media{ContentType: "image/png", Data: []byte("png")})
	msg := twiliofake.Message{Sid: "SM" + strings.Repeat("a", 32), From: "whatsapp:+15557654321", To: "whatsapp:+447700900123"}
	for _, seed := range []struct{ body, query string }{
		{fake.SMS("+15551230001", "+15557654321", "hello").Encode(), ""},
		{mms.Encode(), ""},
		{fake.WhatsApp("+447700900123", "+15557654321", "Olá", "Ana").Encode(), ""},
		{fake.StatusParams(msg, "read", 0).Encode(), "ref=OD1"},
		{fake.StatusParams(msg, "failed", 63016).Encode(), "ref=OD1&ref=OD2"},
		{"MessageSid=SM1&From=a&To=b&NumMedia=1&MediaUrl0=http://x/y&MediaUrl01=z", ""},
		{"MessageSid=SM1&From=whatsapp:a&To=b", ""},
		{"MessageStatus=delivered&ErrorCode=-1&MessageSid=x", ""},
		{"", "MessageSid=SM1&From=%2B1&To=%2B2&Body=via+GET"},
		{"a=%zz", ""},
		{"Body=%FF&From=a&To=b&MessageSid=c", "x=%00"},
	} {
		f.Add(seed.body, seed.query)
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		target := webhookURL
		if query != "" {
			target += "?" + query
		}
		form, _ := url.ParseQuery(body) // malformed pairs are dropped here; Parse must refuse them
		signed := url.Values{}
		for k, vs := range form {
			signed.Set(k, vs[0]) // twilio-go's validator sees one value per name
		}
		req := post(fake.AuthToken, target, signed)
		req.Body = []byte(body)
		b, err := p.Parse(req)
		checkBatch(t, b, err)
		if query != "" {
			b, err := p.Parse(channels.Request{Method: http.MethodGet, URL: target,
				Header: http.Header{twiliosig.Header: {twiliosig.Sign(fake.AuthToken, target, nil)}}})
			checkBatch(t, b, err)
		}
	})
}

func checkBatch(t *testing.T, b channels.Batch, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, channels.ErrUnauthorized) && errs.KindOf(err) != errs.Invalid {
			t.Fatalf("error %v is neither unauthorized nor invalid", err)
		}
		if !reflect.DeepEqual(b, channels.Batch{}) {
			t.Fatalf("an error came with %+v", b)
		}
		return
	}
	switch {
	case len(b.Messages) == 1 && len(b.Statuses) == 0:
		in := b.Messages[0]
		if in.ExternalID == "" || in.From == "" || in.To == "" {
			t.Fatalf("a message without id or addresses: %+v", in)
		}
		if wa := strings.HasPrefix(in.From, "whatsapp:"); (wa && in.Source != channels.SourceWhatsApp) || (!wa && in.Source != channels.SourceSMS) {
			t.Fatalf("source %q for From %q", in.Source, in.From)
		}
		if len(in.Media) > maxMedia {
			t.Fatalf("%d media", len(in.Media))
		}
		for _, m := range in.Media {
			if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("media URL %q", m.URL)
			}
		}
		for _, s := range []string{in.ExternalID, in.From, in.To, in.Body, in.ProfileName} {
			if !text(s) {
				t.Fatalf("%q is not storable text", s)
			}
		}
		if b.Reply == nil {
			t.Fatal("no TwiML reply")
		}
	case len(b.Messages) == 0 && len(b.Statuses) <= 1:
		for _, st := range b.Statuses {
			final := []string{channels.StatusSent, channels.StatusDelivered, channels.StatusRead, channels.StatusFailed, channels.StatusUndelivered}
			if st.ExternalID == "" || st.ErrorCode < 0 || !text(st.Ref) || !text(st.Error) || !slices.Contains(final, st.Status) {
				t.Fatalf("status %+v", st)
			}
		}
		if b.Reply != nil {
			t.Fatal("a status callback with a reply")
		}
	default:
		t.Fatalf("batch %+v", b)
	}
}
