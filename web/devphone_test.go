package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/twilio/twilio-go"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/simulator"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/secrets"
	"github.com/switchboardhq/switchboard/web"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// Dev mode's seeded senders, as `make run` has them.
const (
	phoneSMSSender      = "+15550100"
	phoneWhatsAppSender = "whatsapp:+15550100"
	customer            = "+15551230001"
)

// phoneServer is a server with the channel layer on the simulated carrier,
// and /dev/phone mounted when dev is on.
type phoneServer struct {
	URL    string
	Net    *simulator.Network
	Engine *conversations.Engine
	Jobs   *jobs.Runner
	Twilio *twilio.RestClient
}

func startPhoneServer(t *testing.T, d *db.DB, dev bool) *phoneServer {
	t.Helper()
	ctx := context.Background()
	accounts := auth.NewStore(d)
	acct, err := accounts.EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	engine := conversations.New(d, acct.Sid)
	store, err := media.NewFS(filepath.Join(t.TempDir(), "media"))
	if err != nil {
		t.Fatal(err)
	}
	mediaSvc := media.New(d, store, bytes.Repeat([]byte("m"), 32), nil)
	engine.SetMediaLinker(mediaSvc)
	sealer, err := secrets.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WEBTEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var ch *channels.Service
	n := simulator.NewNetwork(func(ctx context.Context, providerSid string, r channels.Request) error {
		_, err := ch.Webhook(ctx, providerSid, r)
		return err
	}, simulator.Options{})
	ch = channels.New(d, engine, mediaSvc, sealer, channels.Options{Log: log, PublicURL: base,
		Factories: map[string]channels.Factory{channels.KindSimulator: simulator.NewFactory(n)}})
	runner := jobs.NewRunner(d, log)
	engine.RegisterJobs(runner)
	ch.RegisterJobs(runner)
	app := web.New(web.Deps{Log: log, Accounts: accounts, Conversations: engine, Channels: ch, Media: mediaSvc,
		Simulator: n, Dev: dev, Ready: d.Ping})
	go func() { _ = app.Listener(ln) }()
	// The network stops before the server: its status reports go through
	// the server's database.
	t.Cleanup(func() { _ = app.Shutdown() })
	t.Cleanup(n.Close)

	// Dev mode's seed: a simulator account with the network's token, its
	// senders, and auto-creation on both addresses.
	kind, token := channels.KindSimulator, n.Token()
	account, err := ch.CreateProvider(ctx, channels.ProviderParams{Kind: &kind, Secret: &token})
	if err != nil {
		t.Fatal(err)
	}
	s := &phoneServer{URL: base, Net: n, Engine: engine, Jobs: runner,
		Twilio: (&webtest.Server{URL: base, AccountSid: acct.Sid}).Client(acct.Sid, acct.AuthToken)}
	for _, a := range []struct{ typ, address string }{{"sms", phoneSMSSender}, {"whatsapp", phoneWhatsAppSender}} {
		if _, err := ch.PutSender(ctx, channels.SenderParams{Address: a.address, ProviderSid: account.Sid}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Twilio.ConversationsV1.CreateConfigurationAddress((&conv.CreateConfigurationAddressParams{}).
			SetType(a.typ).SetAddress(a.address).SetAutoCreationEnabled(true).SetAutoCreationType("default")); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// eachPhone runs fn against a dev server with the phone on every database.
func eachPhone(t *testing.T, fn func(t *testing.T, s *phoneServer)) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) { fn(t, startPhoneServer(t, d, true)) })
}

// text posts the composer as the page does and returns the status and the
// HTML answer.
func (s *phoneServer) text(t *testing.T, sender, body string, file *phoneFile, header http.Header) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"phone": customer, "sender": sender, "name": "Ada", "body": body} {
		_ = w.WriteField(k, v)
	}
	if file != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="attachment"; filename="`+file.name+`"`)
		h.Set("Content-Type", file.contentType)
		part, _ := w.CreatePart(h)
		_, _ = part.Write(file.data)
	}
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/dev/phone/messages", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("HX-Request", "true")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

type phoneFile struct {
	name, contentType string
	data              []byte
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func get(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// waitThread waits until cond holds on a phone's thread.
func waitThread(t *testing.T, n *simulator.Network, k simulator.Key, what string, cond func([]simulator.Message) bool) []simulator.Message {
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

func phoneKey(t *testing.T, sender string) simulator.Key {
	t.Helper()
	k, err := simulator.NewKey(customer, sender)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAPhoneTextOpensAConversationAndTheAPIReplyComesBackDelivered(t *testing.T) {
	eachPhone(t, func(t *testing.T, s *phoneServer) {
		tw := s.Twilio.ConversationsV1
		status, html := s.text(t, phoneSMSSender, "Where is my order?", nil, nil)
		if status != http.StatusOK || !strings.Contains(html, `id="composer"`) {
			t.Fatalf("POST /dev/phone/messages = %d %s, want a fresh composer", status, html)
		}
		k := phoneKey(t, phoneSMSSender)
		if msgs := s.Net.Thread(k); len(msgs) != 1 || msgs[0].Status != simulator.StatusAccepted {
			t.Fatalf("phone thread = %+v, want the text accepted", msgs)
		}

		convs, err := tw.ListConversation(&conv.ListConversationParams{})
		if err != nil || len(convs) != 1 {
			t.Fatalf("conversations = %d, %v; want the one auto-created", len(convs), err)
		}
		c := *convs[0].Sid
		parts, err := tw.ListConversationParticipant(c, &conv.ListConversationParticipantParams{})
		if err != nil || len(parts) != 1 {
			t.Fatalf("participants = %d, %v; want the customer", len(parts), err)
		}
		binding := object(t, parts[0].MessagingBinding)
		if binding["type"] != "sms" || binding["address"] != customer || binding["proxy_address"] != phoneSMSSender {
			t.Fatalf("messaging_binding = %v, want the customer's SMS binding to %s", binding, phoneSMSSender)
		}
		msgs, err := tw.ListConversationMessage(c, &conv.ListConversationMessageParams{})
		if err != nil || len(msgs) != 1 || *msgs[0].Body != "Where is my order?" || *msgs[0].Author != customer {
			t.Fatalf("messages = %+v, %v; want the customer's text", msgs, err)
		}

		reply, err := tw.CreateConversationMessage(c, (&conv.CreateConversationMessageParams{}).SetAuthor("agent").SetBody("It ships today <3"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Jobs.RunDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		thread := waitThread(t, s.Net, k, "the reply delivered", func(m []simulator.Message) bool {
			return len(m) == 2 && m[1].Status == channels.StatusDelivered
		})
		if got := thread[1]; got.Direction != simulator.Outbound || got.Body != "It ships today <3" {
			t.Fatalf("phone got %+v, want the API's reply", got)
		}
		receipts, err := tw.ListConversationMessageReceipt(c, *reply.Sid, &conv.ListConversationMessageReceiptParams{})
		if err != nil || len(receipts) != 1 || *receipts[0].Status != "delivered" || *receipts[0].ChannelMessageSid != thread[1].ID {
			t.Fatalf("receipts = %+v, %v; want one delivered, naming the carrier's id", receipts, err)
		}
	})
}

func TestAPhoneAttachmentReachesTheConversationAsMedia(t *testing.T) {
	eachPhone(t, func(t *testing.T, s *phoneServer) {
		png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
		status, html := s.text(t, phoneWhatsAppSender, "", &phoneFile{name: "receipt.png", contentType: "image/png", data: png}, nil)
		if status != http.StatusOK || strings.Contains(html, "composer-error") {
			t.Fatalf("POST = %d %s", status, html)
		}
		msgs := s.Net.Thread(phoneKey(t, phoneWhatsAppSender))
		if len(msgs) != 1 || len(msgs[0].Media) != 1 {
			t.Fatalf("phone thread = %+v, want the attachment", msgs)
		}
		if status, body := get(t, s.URL+"/dev/phone/media/"+msgs[0].Media[0].ID); status != http.StatusOK || body != string(png) {
			t.Fatalf("the page's copy of the attachment = %d, %d bytes", status, len(body))
		}
		// The carrier's media are fetched by a job, so the carrier gets its
		// answer at once.
		if _, err := s.Jobs.RunDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		convs, err := s.Twilio.ConversationsV1.ListConversation(&conv.ListConversationParams{})
		if err != nil || len(convs) != 1 {
			t.Fatalf("conversations = %d, %v", len(convs), err)
		}
		got, err := s.Twilio.ConversationsV1.ListConversationMessage(*convs[0].Sid, &conv.ListConversationMessageParams{})
		if err != nil || len(got) != 1 || got[0].Media == nil {
			t.Fatalf("messages = %+v, %v; want one with media", got, err)
		}
		media := *got[0].Media
		if len(media) != 1 || media[0].(map[string]any)["content_type"] != "image/png" || media[0].(map[string]any)["filename"] != "receipt.png" {
			t.Fatalf("media = %v, want receipt.png", media)
		}
	})
}

func TestThePhoneRefusesWhatItCannotSend(t *testing.T) {
	eachPhone(t, func(t *testing.T, s *phoneServer) {
		for _, tc := range []struct {
			name, sender, body string
			file               *phoneFile
			want               string
		}{
			{"nothing written", phoneSMSSender, " ", nil, "write something"},
			{"a file that is neither image nor PDF", phoneSMSSender, "", &phoneFile{"a.html", "text/html", []byte("<script>")}, "attach an image or a PDF"},
			{"an SVG, which can carry script", phoneSMSSender, "", &phoneFile{"a.svg", "image/svg+xml", []byte("<svg/>")}, "attach an image or a PDF"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, html := s.text(t, tc.sender, tc.body, tc.file, nil)
				if status != http.StatusOK || !strings.Contains(html, "composer-error") || !strings.Contains(html, tc.want) {
					t.Fatalf("POST = %d %s, want the composer saying %q", status, html, tc.want)
				}
			})
		}
		if msgs := s.Net.Thread(phoneKey(t, phoneSMSSender)); len(msgs) != 0 {
			t.Fatalf("refused texts reached the thread: %+v", msgs)
		}
		status, _ := s.text(t, "+15550199", "hi", nil, nil)
		if status != http.StatusNotFound {
			t.Fatalf("texting an address that is no simulator sender = %d, want 404", status)
		}
	})
}

func TestThePhoneAnswersOnlyItsOwnPage(t *testing.T) {
	eachPhone(t, func(t *testing.T, s *phoneServer) {
		for _, tc := range []struct {
			name   string
			header http.Header
		}{
			{"a post without HX-Request (a cross-site form)", http.Header{"Hx-Request": {""}}},
			{"a post from another origin", http.Header{"Origin": {"http://evil.example"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if status, _ := s.text(t, phoneSMSSender, "hi", nil, tc.header); status != http.StatusForbidden {
					t.Fatalf("POST = %d, want 403", status)
				}
			})
		}
		q := url.Values{"phone": {customer}, "sender": {phoneSMSSender}}.Encode()
		_, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/dev/phone/ws?"+q,
			http.Header{"Origin": {"http://evil.example"}})
		if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("a WebSocket from another origin = %v, %v; want 403", res, err)
		}
		if msgs := s.Net.Thread(phoneKey(t, phoneSMSSender)); len(msgs) != 0 {
			t.Fatalf("refused requests reached the thread: %+v", msgs)
		}
	})
}

func TestThePhonePageIsServedInDevModeOnly(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	prod := startPhoneServer(t, d, false)
	for _, path := range []string{"/dev/phone", "/dev/phone/ws", "/dev/phone/media/ME0"} {
		if status, _ := get(t, prod.URL+path); status != http.StatusNotFound {
			t.Fatalf("GET %s outside dev mode = %d, want 404", path, status)
		}
	}
	dev := startPhoneServer(t, dbtest.Open(t, db.SQLite), true)
	status, html := get(t, dev.URL+"/dev/phone?"+url.Values{"phone": {customer}, "sender": {phoneWhatsAppSender}}.Encode())
	if status != http.StatusOK {
		t.Fatalf("GET /dev/phone = %d", status)
	}
	for _, want := range []string{"Developer simulator", `ws-connect="/dev/phone/ws?`, `<option value="whatsapp:+15550100" selected>`, `id="thread"`} {
		if !strings.Contains(html, want) {
			t.Fatalf("the page lacks %q:\n%s", want, html)
		}
	}
	if status, html := get(t, dev.URL+"/dev/phone?phone=5551230001&sender=%2B15550100"); status != http.StatusOK || !strings.Contains(html, "E.164") || strings.Contains(html, "ws-connect") {
		t.Fatalf("a number without + = %d, want the picker saying what is wrong", status)
	}
}

// socket opens the page's WebSocket for a thread.
func (s *phoneServer) socket(t *testing.T, sender string) *websocket.Conn {
	t.Helper()
	q := url.Values{"phone": {customer}, "sender": {sender}}.Encode()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/dev/phone/ws?"+q, http.Header{"Origin": {s.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

func readFrame(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheSocketPushesTheThreadThenEachChangeEscaped(t *testing.T) {
	eachPhone(t, func(t *testing.T, s *phoneServer) {
		ws := s.socket(t, phoneSMSSender)
		if first := readFrame(t, ws); !strings.Contains(first, `id="thread"`) || !strings.Contains(first, `hx-swap-oob="true"`) {
			t.Fatalf("first frame = %s, want the whole thread", first)
		}
		if status, _ := s.text(t, phoneSMSSender, `<img src=x onerror=alert(1)>`, nil, nil); status != http.StatusOK {
			t.Fatalf("POST = %d", status)
		}
		// The text shows as sending, then accepted: an append, then a
		// replacement (or one append of the accepted text if they coalesce).
		var frames string
		for !strings.Contains(frames, `data-status="accepted"`) {
			frames += readFrame(t, ws)
		}
		if !strings.Contains(frames, `hx-swap-oob="beforeend:#thread"`) {
			t.Fatalf("frames = %s, want the new message appended", frames)
		}
		if strings.Contains(frames, "<img src=x") || !strings.Contains(frames, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Fatalf("frames = %s, want the body escaped", frames)
		}
	})
}

func TestAWhatsAppReplyShownOnThePageIsReportedRead(t *testing.T) {
	eachPhone(t, func(t *testing.T, s *phoneServer) {
		tw := s.Twilio.ConversationsV1
		if status, _ := s.text(t, phoneWhatsAppSender, "hello", nil, nil); status != http.StatusOK {
			t.Fatalf("POST = %d", status)
		}
		convs, err := tw.ListConversation(&conv.ListConversationParams{})
		if err != nil || len(convs) != 1 {
			t.Fatalf("conversations = %d, %v", len(convs), err)
		}
		reply, err := tw.CreateConversationMessage(*convs[0].Sid, (&conv.CreateConversationMessageParams{}).SetAuthor("agent").SetBody("hi!"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Jobs.RunDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		k := phoneKey(t, phoneWhatsAppSender)
		thread := waitThread(t, s.Net, k, "the reply", func(m []simulator.Message) bool { return len(m) == 2 })
		ws := s.socket(t, phoneWhatsAppSender)
		if first := readFrame(t, ws); !strings.Contains(first, `ws-send`) || !strings.Contains(first, thread[1].ID) {
			t.Fatalf("first frame = %s, want the reply asking to be acknowledged", first)
		}
		// What htmx-ext-ws sends for the acknowledgement when it loads.
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"read":"`+thread[1].ID+`","HEADERS":{"HX-Request":"true"}}`)); err != nil {
			t.Fatal(err)
		}
		waitThread(t, s.Net, k, "read", func(m []simulator.Message) bool { return m[1].Status == channels.StatusRead })
		receipts, err := tw.ListConversationMessageReceipt(*convs[0].Sid, *reply.Sid, &conv.ListConversationMessageReceiptParams{})
		if err != nil || len(receipts) != 1 || *receipts[0].Status != "read" {
			t.Fatalf("receipts = %+v, %v; want the reply read", receipts, err)
		}
	})
}

func TestPagesAreToldToReconnectWhenTheSimulatorStops(t *testing.T) {
	s := startPhoneServer(t, dbtest.Open(t, db.SQLite), true)
	ws := s.socket(t, phoneSMSSender)
	readFrame(t, ws)
	s.Net.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseServiceRestart) {
		t.Fatalf("read after the network closed = %v, want close 1012, on which htmx-ext-ws reconnects", err)
	}
}
