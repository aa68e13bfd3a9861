package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// widgetHost is a customer's website on its own origin, embedding the
// loader from the Switchboard server. Its styles are hostile on purpose:
// the widget's launcher and frame must not be reached by them.
const widgetHost = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Acme shop</title>
<style>button { background: red !important; } iframe { display: none !important; }</style></head>
<body><h1>Acme shop</h1><p>Everything for your coyote needs.</p>
<script src="%s/static/webchat.js" data-deployment-key="%s" async></script></body></html>`

// widgetDeployment creates a chat address configuration and a deployment
// through the REST API, and returns the deployment key. params add to or
// replace the defaults: Acme's title, colour and welcome, and the default
// form (name, email and question, all required).
func widgetDeployment(t *testing.T, s *webtest.Server, params url.Values) string {
	t.Helper()
	addr, err := s.Twilio.ConversationsV1.CreateConfigurationAddress((&conv.CreateConfigurationAddressParams{}).
		SetType("chat").SetAddress("acme-webchat-" + strings.ToLower(rand.Text()[:8])).SetAutoCreationEnabled(true).SetAutoCreationType("default"))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"FriendlyName": {"Acme shop"}, "AddressConfigurationSid": {*addr.Sid},
		"Title": {"Acme support"}, "BrandColor": {"#7a1fa2"}, "WelcomeMessage": {"Hi! An agent will be with you shortly."}}
	for k, v := range params {
		form[k] = v
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/Webchat/Deployments", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.AccountSid, s.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var d struct {
		Key     string `json:"key"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("creating the deployment: HTTP %d %s (%v)", res.StatusCode, d.Message, err)
	}
	return d.Key
}

// widget drives the webchat widget in a browser tab: the launcher in the
// host page, the chat inside its frame (another origin, so the page's own
// scripts cannot reach it; the test evaluates in the frame directly).
type widget struct {
	t   *testing.T
	ctx context.Context
}

// launcher and frameElement find the loader's elements in its shadow root.
const (
	launcher     = `document.querySelector("#switchboard-webchat").shadowRoot.querySelector(".launcher")`
	frameElement = `document.querySelector("#switchboard-webchat").shadowRoot.querySelector("iframe")`
)

// do runs browser actions, failing the test with what the frame showed.
func (w widget) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, actions...); err != nil {
		w.t.Fatalf("%s: %v\nframe: %s", what, err, w.frameHTML())
	}
}

// inPage waits for a condition on the host page.
func (w widget) inPage(what, js string) {
	w.t.Helper()
	w.do(what, until(js))
}

// chatFrame finds the widget's frame in the tab's frame tree.
func chatFrame(ctx context.Context) (cdp.FrameID, error) {
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return "", err
	}
	for _, child := range tree.FrameTree.ChildFrames {
		if strings.Contains(child.Frame.URL, "/webchat/frame") {
			return child.Frame.ID, nil
		}
	}
	return "", errors.New("the page has no webchat frame")
}

// frameEval evaluates js in the frame until it is truthy and returns its
// value. The frame may be loading or reloading, so evaluation is retried.
func frameEval[T any](ctx context.Context, js string) (T, error) {
	var zero T
	deadline := time.Now().Add(10 * time.Second)
	for {
		var v T
		err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			id, err := chatFrame(ctx)
			if err != nil {
				return err
			}
			// A node naming the frame makes the poll run in its document.
			in := &chromedp.Node{Node: &cdp.Node{FrameID: id}}
			v, err = chromedp.Poll[T](js, chromedp.WithPollingInFrame(in), chromedp.WithPollingInterval(50*time.Millisecond),
				chromedp.WithPollingTimeout(time.Until(deadline)))(ctx, t)
			return err
		}))
		if err == nil || errors.Is(err, chromedp.ErrPollingTimeout) || time.Now().After(deadline) {
			return v, err
		}
		if ctx.Err() != nil {
			return zero, ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inFrame waits for a condition in the frame.
func (w widget) inFrame(what, js string) {
	w.t.Helper()
	if _, err := frameEval[bool](w.ctx, js); err != nil {
		w.t.Fatalf("%s: %v\nframe: %s", what, err, w.frameHTML())
	}
}

// frameValue reads a value from the frame.
func frameValue[T any](w widget, js string) T {
	w.t.Helper()
	raw, err := frameEval[string](w.ctx, `JSON.stringify(`+js+`)`)
	if err != nil {
		w.t.Fatalf("reading %s in the frame: %v", js, err)
	}
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		w.t.Fatalf("reading %s in the frame: %v (%s)", js, err, raw)
	}
	return v
}

func (w widget) frameHTML() string {
	ctx, cancel := context.WithTimeout(w.ctx, 3*time.Second)
	defer cancel()
	h, err := frameEval[string](ctx, `document.querySelector(".app") ? document.querySelector(".app").outerHTML : document.body.outerHTML`)
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	return h
}

// keys types into whatever has the focus, as a person would.
func (w widget) keys(what, keys string, opts ...chromedp.KeyOption) {
	w.t.Helper()
	w.do(what, chromedp.KeyEvent(keys, opts...))
}

// enter presses Enter as a keyboard does: one keydown that carries the
// text, so a handler that prevents it also prevents the new line
// (chromedp's KeyEvent sends the text as a separate, unpreventable event).
func enter(mods ...chromedp.Modifier) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		var m int64
		for _, mod := range mods {
			m |= int64(mod)
		}
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r", Modifiers: m}
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Modifiers: m}
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, up)
		return err
	})
}

// screenshot saves the tab as docs/screenshots/webchat-<name>.png when
// UPDATE_SCREENSHOTS=1.
func (w widget) screenshot(name string) {
	w.t.Helper()
	saveScreenshot(w.t, w.ctx, "webchat-"+name)
}

// offline cuts the tab off the network (requests fail, navigator.onLine is
// false), or puts it back.
func offline(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		conds := []*network.Conditions{}
		if on {
			conds = append(conds, &network.Conditions{Offline: true, Latency: 0, DownloadThroughput: -1, UploadThroughput: -1})
		}
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule,
			network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.OverrideNetworkState,
			network.OverrideNetworkStateParams{Offline: on, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
}

// tinyPDF is a PDF the customer attaches.
const tinyPDF = "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg=="

// receiptPNG is a 160×100 picture the customer attaches, base64-encoded.
func receiptPNG(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 160, 100))
	for y := range 100 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(120 + y), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// attachJS picks a file in the composer's file picker, as the browser's
// file dialog would.
func attachJS(name, contentType, base64 string, size int) string {
	data := fmt.Sprintf(`Uint8Array.from(atob(%s), c => c.charCodeAt(0))`, jsString(base64))
	if size > 0 {
		data = fmt.Sprintf(`new Uint8Array(%d)`, size)
	}
	return fmt.Sprintf(`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([%s], %s, {type: %s}));
		const input = document.getElementById("file");
		input.files = dt.files;
		input.dispatchEvent(new Event("change"));
		return true;
	})()`, data, jsString(name), jsString(contentType))
}

// bubbleWith is the frame's message bubbles whose text is exactly body.
func bubbleWith(body string) string {
	return `[...document.querySelectorAll("#thread .msg")].filter(li => li.querySelector(".text") && li.querySelector(".text").textContent === ` + jsString(body) + `)`
}

// widgetOnHost creates a deployment (params as for widgetDeployment) that
// a customer's site on its own origin embeds, and opens that site in a new
// tab of the browser. It returns the tab, the deployment key, the site's
// URL and the tab's download folder.
func widgetOnHost(t *testing.T, browserCtx context.Context, s *webtest.Server, params url.Values) (widget, string, string, string) {
	t.Helper()
	var key string
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, widgetHost, html.EscapeString(s.URL), html.EscapeString(key))
	}))
	t.Cleanup(host.Close)
	if params == nil {
		params = url.Values{}
	}
	params.Set("AllowedOrigins", host.URL)
	key = widgetDeployment(t, s, params)

	tab, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	w := widget{t: t, ctx: tab}
	downloads := t.TempDir()
	w.do("preparing the tab",
		chromedp.EmulateViewport(1200, 800),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			// Headless tabs are never focused; the widget's focus handling is under test.
			if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
				return err
			}
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior,
				cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
			return err
		}),
		chromedp.Navigate(host.URL))
	return w, key, host.URL, downloads
}

func TestBrowserWebchatCustomerChatsWithAnAgentThroughDropsAndReloads(t *testing.T) {
	ctx := browser(t)
	first := true
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		shots := first // one set of screenshots is enough
		first = false
		s := webtest.Start(t, d)
		w, key, hostURL, downloads := widgetOnHost(t, ctx, s, nil)

		// The launcher appears in the brand colour, untouched by the page's styles.
		w.inPage("the launcher appears", launcher+` && !`+launcher+`.hidden && getComputedStyle(`+launcher+`).backgroundColor === "rgb(122, 31, 162)"
			&& `+launcher+`.getAttribute("aria-label") === "Open Acme support" && `+frameElement+`.title === "Acme support"`)

		// Keyboard: Enter on the launcher opens the panel and puts the focus on the form.
		w.do("opening with the keyboard", chromedp.Evaluate[chromedp.Void](launcher+`.focus()`), enter())
		w.inPage("the panel opens at 380×600", `(() => { const f = `+frameElement+`, r = f.getBoundingClientRect();
			return !f.hidden && getComputedStyle(f).display !== "none" && r.width === 380 && r.height === 600
				&& `+launcher+`.getAttribute("aria-expanded") === "true"; })()`)
		w.inFrame("the form has the focus", `!document.getElementById("start").hidden && document.activeElement.id === "f-friendly_name"`)

		// An empty form is refused readably, in the browser.
		w.keys("tabbing to the button", kb.Tab+kb.Tab+kb.Tab)
		w.inFrame("focus order reaches the button", `document.activeElement.type === "submit"`)
		w.do("submitting the empty form", enter())
		w.inFrame("the required fields say so", `document.getElementById("f-friendly_name-error").textContent === "Name is required."
			&& document.getElementById("f-email-error").textContent === "Email is required."
			&& document.getElementById("f-friendly_name").getAttribute("aria-invalid") === "true"
			&& document.activeElement.id === "f-friendly_name"`)

		// An address only the server refuses shows the server's words.
		w.keys("filling in the form", "Ada Lovelace"+kb.Tab+"ada@example..com"+kb.Tab+"Where is my order #1234?"+kb.Tab)
		w.do("submitting", enter())
		w.inFrame("the server's refusal shows", `document.getElementById("start-error").textContent.includes("not an email address")`)
		if shots {
			w.screenshot("form")
		}
		w.do("fixing the email", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := frameEval[bool](ctx, `(document.getElementById("f-email").focus(), document.getElementById("f-email").select(), true)`)
			return err
		}), chromedp.KeyEvent("ada@example.com"+kb.Tab+kb.Tab), enter())

		// The chat starts with the question and the deployment's welcome.
		w.inFrame("the chat starts", `!document.getElementById("chat").hidden && document.getElementById("start").hidden
			&& `+bubbleWith("Where is my order #1234?")+`.length === 1 && `+bubbleWith("Where is my order #1234?")+`[0].classList.contains("mine")
			&& [...document.querySelectorAll("#thread .msg.theirs .who")].some(e => e.textContent === "Concierge")
			&& document.querySelector("#thread .day").textContent === "Today"
			&& document.activeElement.id === "body"`)
		session := frameValue[struct {
			Token           string `json:"token"`
			Identity        string `json:"identity"`
			ConversationSid string `json:"conversation_sid"`
			ServiceSid      string `json:"service_sid"`
		}](w, `JSON.parse(localStorage.getItem("switchboard-webchat:`+key+`"))`)
		if session.ConversationSid == "" || session.Token == "" {
			t.Fatalf("the session is not kept in localStorage: %+v", session)
		}

		// Anna, an agent, joins and follows the chat on her own socket.
		fx := chatFixture{s: s, service: session.ServiceSid, conversation: session.ConversationSid}
		fx.join(t, session.ConversationSid, "anna", `{"friendlyName":"Anna","worker_sid":"WK00000000000000000000000000000001"}`)
		w.inFrame("the agent's arrival is a system line", `[...document.querySelectorAll("#thread .system")].some(e => e.textContent === "Anna joined the chat")`)
		anna := connectChat(t, s, fx.token(t, "anna"))
		anna.send(map[string]any{"type": "subscribe", "conversation_sid": session.ConversationSid})
		anna.await("history", nil)

		// Shift+Enter is a new line, Enter sends; Anna sees the customer type.
		w.keys("typing a message", "Line one")
		w.do("a new line", enter(chromedp.ModifierShift))
		w.keys("typing on", "line two")
		w.do("sending", enter())
		if f := anna.await("typing", nil); f["display_name"] != "Ada Lovelace" {
			t.Errorf("the agent saw %v typing, want Ada Lovelace", f["display_name"])
		}
		w.inFrame("the message is sent", bubbleWith("Line one\nline two")+`.length === 1
			&& `+bubbleWith("Line one\nline two")+`[0].querySelector(".state.sent") !== null
			&& document.getElementById("body").value === ""`)
		sent := anna.await("message_added", func(f map[string]any) bool {
			return f["message"].(map[string]any)["body"] == "Line one\nline two"
		})

		// Anna types, then reads: the indicator shows, and the ticks turn to read.
		anna.send(map[string]any{"type": "typing", "conversation_sid": session.ConversationSid, "typing": true})
		w.inFrame("the typing indicator", `document.getElementById("typing").textContent === "Anna is typing…"`)
		anna.send(map[string]any{"type": "read", "conversation_sid": session.ConversationSid, "index": index(sent)})
		w.inFrame("read ticks", bubbleWith("Line one\nline two")+`[0].querySelector(".state.read .sr").textContent === "Read"`)

		// Attachments: a picture shows inline, a PDF as a link; others are refused before uploading.
		w.inFrame("attaching an SVG", attachJS("logo.svg", "image/svg+xml", "PHN2Zy8+", 0))
		w.inFrame("the SVG is refused", `document.getElementById("composer-error").textContent.includes("logo.svg cannot be sent")`)
		w.inFrame("attaching 17 MB", attachJS("huge.png", "image/png", "", 17<<20))
		w.inFrame("the big file is refused", `document.getElementById("composer-error").textContent.includes("at most 16 MB")`)
		w.inFrame("attaching a picture", attachJS("receipt.png", "image/png", receiptPNG(t), 0))
		w.inFrame("the picture shows", `[...document.querySelectorAll("#thread .msg.mine:not(.pending) a.image img")].some(i => i.alt === "receipt.png" && i.complete && i.naturalWidth === 160)
			&& document.getElementById("composer-error").textContent === ""`)
		w.inFrame("attaching a PDF", attachJS("invoice.pdf", "application/pdf", tinyPDF, 0))
		w.inFrame("the PDF is a link", `[...document.querySelectorAll("#thread .msg.mine:not(.pending) a.file")].some(a => a.textContent.includes("invoice.pdf") && a.href.startsWith("http"))`)

		// Escape closes the panel and gives the focus back to the launcher.
		w.do("focusing the composer", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := frameEval[bool](ctx, `(document.getElementById("body").focus(), document.activeElement.id === "body")`)
			return err
		}))
		w.keys("pressing Escape", kb.Escape)
		w.inPage("the panel closes", frameElement+`.hidden && document.querySelector("#switchboard-webchat").shadowRoot.activeElement === `+launcher+`
			&& `+launcher+`.getAttribute("aria-expanded") === "false"`)

		// A reply while closed badges the launcher; opening shows it with Anna's name and clears the badge.
		replyIndex := fx.post(t, session.ConversationSid, "anna", "Hi Ada, it shipped today.")
		w.inPage("the unread badge", launcher+`.querySelector(".badge").textContent === "1" && !`+launcher+`.querySelector(".badge").hidden
			&& `+launcher+`.getAttribute("aria-label") === "Open Acme support (1 unread)"`)
		w.do("opening with a click", chromedp.Evaluate[chromedp.Void](launcher+`.click()`))
		reply := bubbleWith("Hi Ada, it shipped today.")
		w.inFrame("the reply shows with the agent's name", reply+`.length === 1 && `+reply+`[0].classList.contains("theirs")
			&& `+reply+`[0].querySelector(".who").textContent === "Anna"
			&& document.getElementById("typing").textContent === ""`)
		w.inPage("the badge clears", launcher+`.querySelector(".badge").hidden`)
		w.inFrame("screen readers hear the reply", `[...document.querySelectorAll("#announce p")].some(p => p.textContent === "Anna: Hi Ada, it shipped today.")`)
		anna.await("participant_updated", func(f map[string]any) bool {
			p := f["participant"].(map[string]any)
			read, _ := p["last_read_message_index"].(float64)
			return p["identity"] == session.Identity && int64(read) == replyIndex
		})
		if shots {
			w.screenshot("thread")
		}
		before := frameValue[[]int](w, `[...document.querySelectorAll("#thread .msg")].map(li => Number(li.dataset.index))`)

		// A reload resumes the thread, without the form; a token about to
		// expire is renewed first.
		w.inFrame("the token nearly expires", `(() => {
			const k = "switchboard-webchat:`+key+`", s = JSON.parse(localStorage.getItem(k));
			s.expires_at = new Date(Date.now() + 60000).toISOString();
			localStorage.setItem(k, JSON.stringify(s));
			return true; })()`)
		w.do("reloading", chromedp.Navigate(hostURL))
		w.inPage("the launcher is back", launcher+` && !`+launcher+`.hidden`)
		w.do("opening", chromedp.Evaluate[chromedp.Void](launcher+`.click()`))
		w.inFrame("the thread is back", `document.getElementById("start").hidden && !document.getElementById("chat").hidden
			&& `+reply+`.length === 1 && document.querySelectorAll("#thread .msg").length === `+fmt.Sprint(len(before)))
		w.inFrame("the token was renewed", `(() => { const s = JSON.parse(localStorage.getItem("switchboard-webchat:`+key+`"));
			return Date.parse(s.expires_at) > Date.now() + 5 * 3600 * 1000; })()`)

		// Offline: the banner shows; a reply sent meanwhile arrives once the
		// network is back, exactly once. The body is markup, shown as text.
		w.do("going offline", offline(true))
		w.inFrame("the reconnecting banner", `!document.getElementById("banner").hidden`)
		if shots {
			w.screenshot("reconnecting")
		}
		missed := `<img src=x onerror="document.title='pwned'"> Still there?`
		fx.post(t, session.ConversationSid, "anna", missed)
		time.Sleep(500 * time.Millisecond)
		if n := frameValue[int](w, bubbleWith(missed)+`.length`); n != 0 {
			t.Fatalf("a message reached the frame while it was offline (%d)", n)
		}
		w.do("going online", offline(false))
		w.inFrame("the missed reply arrives once", `document.getElementById("banner").hidden && `+bubbleWith(missed)+`.length === 1`)
		time.Sleep(300 * time.Millisecond)
		after := frameValue[[]int](w, `[...document.querySelectorAll("#thread .msg")].map(li => Number(li.dataset.index))`)
		if len(after) != len(before)+1 {
			t.Fatalf("after the drop the thread has indexes %v, want %v and one more", after, before)
		}
		seen := map[int]bool{}
		for _, i := range after {
			if seen[i] {
				t.Fatalf("index %d shows twice: %v", i, after)
			}
			seen[i] = true
		}
		if n := frameValue[int](w, `document.querySelectorAll("#thread .msg img[src=x]").length`); n != 0 {
			t.Fatal("a message body was rendered as markup")
		}

		// The agent closes the chat: it ends, with a transcript and a way to start over.
		if _, err := s.Twilio.ConversationsV1.UpdateConversation(session.ConversationSid,
			(&conv.UpdateConversationParams{}).SetState("closed")); err != nil {
			t.Fatal(err)
		}
		w.inFrame("the chat ends", `!document.getElementById("ended").hidden && document.getElementById("composer").hidden`)
		if shots {
			w.screenshot("ended")
		}
		w.inFrame("downloading the transcript", `(document.getElementById("transcript").click(), true)`)
		transcript := waitForFile(t, downloads, "chat-transcript.txt")
		for _, want := range []string{"Where is my order #1234?", "Hi Ada, it shipped today.", "Still there?"} {
			if !strings.Contains(transcript, want) {
				t.Errorf("the transcript lacks %q:\n%s", want, transcript)
			}
		}
		w.inFrame("starting over", `(document.getElementById("restart").click(), true)`)
		w.inFrame("the form is back", `!document.getElementById("start").hidden && document.querySelectorAll("#thread .msg").length === 0
			&& localStorage.getItem("switchboard-webchat:`+key+`") === null`)

		// On a phone the chat fills the screen.
		w.do("a phone-sized screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		w.inPage("the frame fills the screen", `(() => { const r = `+frameElement+`.getBoundingClientRect();
			return r.left === 0 && r.top === 0 && r.width === innerWidth && r.height === innerHeight; })()`)
		if shots {
			w.screenshot("phone")
		}
	})
}

// waitForFile waits for a download to finish and returns its text.
func waitForFile(t *testing.T, dir, name string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	t.Fatalf("%s was not downloaded; the download folder has %v", name, entries)
	return ""
}

func TestBrowserWebchatWithoutAFormTheFirstMessageStartsTheChat(t *testing.T) {
	ctx := browser(t)
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		w, key, hostURL, _ := widgetOnHost(t, ctx, s, url.Values{"PreEngagement": {`{"disabled":true}`}, "BrandColor": {"#ffd400"}})

		// A light brand colour gets dark text.
		w.inPage("the launcher appears", launcher+` && !`+launcher+`.hidden && getComputedStyle(`+launcher+`).color === "rgb(0, 0, 0)"`)
		w.do("opening", chromedp.Evaluate[chromedp.Void](launcher+`.click()`))
		w.inFrame("the chat shows at once, with the welcome", `document.getElementById("start").hidden && !document.getElementById("chat").hidden
			&& !document.getElementById("intro").hidden && document.getElementById("intro").textContent === "Hi! An agent will be with you shortly."
			&& document.activeElement.id === "body" && localStorage.getItem("switchboard-webchat:`+key+`") === null`)

		// Nothing to attach to yet.
		w.inFrame("attaching before the chat", attachJS("receipt.png", "image/png", receiptPNG(t), 0))
		w.inFrame("attaching needs a chat", `document.getElementById("composer-error").textContent.includes("Send a message first")`)

		w.keys("writing", "Hello, anyone there?")
		w.do("sending", enter())
		w.inFrame("the chat starts with the message after the welcome", `(() => {
			const msgs = [...document.querySelectorAll("#thread .msg")];
			return msgs.length === 2 && msgs[0].querySelector(".who").textContent === "Concierge"
				&& msgs[1].classList.contains("mine") && !msgs[1].classList.contains("pending")
				&& msgs[1].querySelector(".text").textContent === "Hello, anyone there?"
				&& document.getElementById("intro").hidden
				&& localStorage.getItem("switchboard-webchat:`+key+`") !== null; })()`)

		// The message is the customer's, stored once.
		sid := frameValue[string](w, `JSON.parse(localStorage.getItem("switchboard-webchat:`+key+`")).conversation_sid`)
		msgs, err := s.Twilio.ConversationsV1.ListConversationMessage(sid, &conv.ListConversationMessageParams{})
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, m := range msgs {
			bodies = append(bodies, *m.Author+": "+*m.Body)
		}
		if len(bodies) != 2 || !strings.HasPrefix(bodies[1], "webchat") || !strings.HasSuffix(bodies[1], ": Hello, anyone there?") {
			t.Fatalf("the conversation holds %q, want the welcome and the customer's message once", bodies)
		}

		// A token the server no longer takes (here: a forged one) ends the
		// session with a word to the customer, instead of retrying forever.
		w.inFrame("forging the token", `(() => {
			const k = "switchboard-webchat:`+key+`", s = JSON.parse(localStorage.getItem(k));
			s.token = s.token.slice(0, -4) + "AAAA";
			localStorage.setItem(k, JSON.stringify(s));
			return true; })()`)
		w.do("reloading", chromedp.Navigate(hostURL))
		w.inPage("the launcher is back", launcher+` && !`+launcher+`.hidden`)
		w.do("opening", chromedp.Evaluate[chromedp.Void](launcher+`.click()`))
		w.inFrame("the session is over", `document.getElementById("composer-error").textContent === "Your chat session has expired. Start a new chat to continue."
			&& document.querySelectorAll("#thread .msg").length === 0 && document.getElementById("banner").hidden
			&& localStorage.getItem("switchboard-webchat:`+key+`") === null`)
	})
}
