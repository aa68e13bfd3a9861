package metafake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"unicode/utf8"
)

// Message is a send the fake accepted.
type Message struct {
	ID            string // the wamid answered
	PhoneNumberID string // the business number it was sent from
	To            string // the recipient's digits
	Type          string // text, image, video, audio, document, sticker or template
	Text          string // text.body
	Attachment    *Attachment
	Template      *SentTemplate
	Ref           string          // biz_opaque_callback_data
	Request       json.RawMessage // the body as sent
}

// Attachment is the media object of an image, video, audio, document or
// sticker send.
type Attachment struct {
	Link     string
	Caption  string
	Filename string
}

// SentTemplate is the template object of a template send.
type SentTemplate struct {
	Name     string
	Language string
	Params   []Param // body parameters, in order
}

// Param is one body parameter; Name is set for named parameters.
type Param struct {
	Name string
	Text string
}

// Status is a status webhook for this message: its wamid, ref, recipient and
// sender filled in.
func (m Message) Status(status string) Status {
	return Status{MessageID: m.ID, Ref: m.Ref, Status: status, Recipient: m.To, PhoneNumberID: m.PhoneNumberID}
}

// Aftermath is what follows an accepted send under AcceptThenFail.
type Aftermath int

const (
	// Answer500 answers 500 with a Meta error body.
	Answer500 Aftermath = iota + 1
	// DropConnection closes the connection without answering.
	DropConnection
)

type failure struct{ status, code int }

// FailNext makes the next n sends be refused with the HTTP status and
// Meta's error body for code (e.g. 400 and 131047 outside the 24-hour
// window, 400 and 130429 rate limited, 503 and 2 unavailable). Nothing is
// recorded for them.
func (s *Server) FailNext(n, status, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status, code})
	}
}

// AcceptThenFail makes the next n valid sends be accepted and recorded,
// then answered with how: the sender cannot tell that Meta took them.
func (s *Server) AcceptThenFail(n int, how Aftermath) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.aftermaths = append(s.aftermaths, how)
	}
}

// Hold makes sends from now on wait unanswered until release is called.
// After release they proceed as usual (injected failures apply); a send
// whose client gave up while held is dropped unrecorded, as if it never
// reached Meta. release may be called more than once.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
	h := s.hold
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.hold == h {
				close(h)
				s.hold = nil
			}
		})
	}
}

// WaitHeld waits until exactly n sends are being held: n > 0 to know that
// sends have arrived, 0 to know that every held send was answered or
// abandoned by its client.
func (s *Server) WaitHeld(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return s.held == n })
}

// Meta's messages for the error codes the fake answers.
var errorMessages = map[int]string{
	1:      "An unknown error has occurred.",
	2:      "Service temporarily unavailable",
	4:      "(#4) Application request limit reached",
	100:    "(#100) Invalid parameter",
	190:    "Invalid OAuth access token - Cannot parse access token",
	80007:  "(#80007) Rate limit issues",
	130429: "(#130429) Rate limit hit",
	131000: "(#131000) Something went wrong",
	131026: "(#131026) Message undeliverable",
	131047: "(#131047) Re-engagement message",
	131056: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
	132000: "(#132000) Number of parameters does not match the expected number of params",
	132001: "(#132001) Template name does not exist in the translation",
}

var errorDetails = map[int]string{
	131047: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
	131056: "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
}

func errorMessage(code int) string {
	if m, ok := errorMessages[code]; ok {
		return m
	}
	return fmt.Sprintf("(#%d) Error", code)
}

// wireSend is the request body; unknown fields are refused, so that a
// misspelt field in our sender shows up here rather than at Meta.
type wireSend struct {
	MessagingProduct      string        `json:"messaging_product"`
	RecipientType         string        `json:"recipient_type"`
	To                    string        `json:"to"`
	Type                  string        `json:"type"`
	Text                  *wireText     `json:"text"`
	Image                 *wireMedia    `json:"image"`
	Video                 *wireMedia    `json:"video"`
	Audio                 *wireMedia    `json:"audio"`
	Document              *wireMedia    `json:"document"`
	Sticker               *wireMedia    `json:"sticker"`
	Template              *wireTemplate `json:"template"`
	BizOpaqueCallbackData string        `json:"biz_opaque_callback_data"`
	Context               *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
}

type wireText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type wireMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type wireTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	} `json:"language"`
	Components []struct {
		Type       string `json:"type"`
		SubType    string `json:"sub_type"`
		Index      string `json:"index"`
		Parameters []struct {
			Type          string `json:"type"`
			ParameterName string `json:"parameter_name"`
			Text          string `json:"text"`
		} `json:"parameters"`
	} `json:"components"`
}

var toDigits = regexp.MustCompile(`^[0-9]{7,15}$`)

// send handles POST /{version}/{phone-number-id}/messages.
func (s *Server) send(w http.ResponseWriter, r *http.Request, phoneNumberID string) {
	if !s.authorized(w, r) {
		return
	}
	if _, ok := s.cfg.Numbers[phoneNumberID]; !ok {
		s.refuse(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation", phoneNumberID), "")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.refuse(w, http.StatusBadRequest, 100, 0, "(#100) The request body must be JSON, got Content-Type "+r.Header.Get("Content-Type"), "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var req wireSend
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.refuse(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "request body: "+err.Error())
		return
	}
	msg, problem := s.check(req)
	if problem != "" {
		s.refuse(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", problem)
		return
	}
	if code, problem := s.checkTemplate(msg.Template); problem != "" {
		s.refuse(w, http.StatusBadRequest, code, 0, errorMessage(code), problem)
		return
	}
	if !s.waitWhileHeld(r) {
		return
	}

	s.mu.Lock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		s.mu.Unlock()
		writeError(w, f.status, f.code, 0, errorMessage(f.code), errorDetails[f.code])
		return
	}
	msg.ID, msg.PhoneNumberID, msg.Request = newWAMID(), phoneNumberID, body
	s.messages = append(s.messages, msg)
	var after Aftermath
	if len(s.aftermaths) > 0 {
		after, s.aftermaths = s.aftermaths[0], s.aftermaths[1:]
	}
	s.changedLocked()
	s.mu.Unlock()

	switch after {
	case Answer500:
		writeError(w, http.StatusInternalServerError, 131000, 0, errorMessage(131000), "")
		return
	case DropConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection just the same
	}
	answer := map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": msg.To, "wa_id": msg.To}},
		"messages":          []map[string]string{{"id": msg.ID}},
	}
	if msg.Type == "template" {
		answer["messages"] = []map[string]string{{"id": msg.ID, "message_status": "accepted"}}
	}
	writeJSON(w, http.StatusOK, answer)
}

// waitWhileHeld blocks a send while sends are held. It reports false when
// the client gave up meanwhile.
func (s *Server) waitWhileHeld(r *http.Request) bool {
	s.mu.Lock()
	h := s.hold
	if h == nil {
		s.mu.Unlock()
		return true
	}
	s.held++
	s.changedLocked()
	s.mu.Unlock()
	select {
	case <-h:
	case <-r.Context().Done():
	}
	s.mu.Lock()
	s.held--
	s.changedLocked()
	s.mu.Unlock()
	return r.Context().Err() == nil
}

// check validates a send's shape as Meta would and returns what it says.
func (s *Server) check(req wireSend) (Message, string) {
	m := Message{To: req.To, Type: req.Type, Ref: req.BizOpaqueCallbackData}
	switch {
	case req.MessagingProduct != "whatsapp":
		return m, fmt.Sprintf("messaging_product is %q, want whatsapp", req.MessagingProduct)
	case req.RecipientType != "" && req.RecipientType != "individual":
		return m, fmt.Sprintf("recipient_type is %q, want individual", req.RecipientType)
	case !toDigits.MatchString(req.To):
		return m, fmt.Sprintf("to is %q, want the recipient's 7 to 15 digits", req.To)
	case utf8.RuneCountInString(req.BizOpaqueCallbackData) > 512:
		return m, "biz_opaque_callback_data is longer than 512 characters"
	}
	objects := map[string]bool{
		"text": req.Text != nil, "image": req.Image != nil, "video": req.Video != nil, "audio": req.Audio != nil,
		"document": req.Document != nil, "sticker": req.Sticker != nil, "template": req.Template != nil,
	}
	for kind, present := range objects {
		if present && kind != req.Type {
			return m, fmt.Sprintf("type is %q but the request has a %s object", req.Type, kind)
		}
	}
	if !objects[req.Type] {
		return m, fmt.Sprintf("type %q needs its object (text, image, video, audio, document, sticker or template)", req.Type)
	}
	switch req.Type {
	case "text":
		n := utf8.RuneCountInString(req.Text.Body)
		if n == 0 || n > 4096 {
			return m, fmt.Sprintf("text.body has %d characters, want 1 to 4096", n)
		}
		m.Text = req.Text.Body
	case "image", "video", "audio", "document", "sticker":
		md := map[string]*wireMedia{"image": req.Image, "video": req.Video, "audio": req.Audio, "document": req.Document, "sticker": req.Sticker}[req.Type]
		if problem := checkMedia(req.Type, md); problem != "" {
			return m, problem
		}
		m.Attachment = &Attachment{Link: md.Link, Caption: md.Caption, Filename: md.Filename}
	case "template":
		t := req.Template
		if t.Name == "" || t.Language.Code == "" {
			return m, "template needs a name and language.code"
		}
		st := &SentTemplate{Name: t.Name, Language: t.Language.Code}
		for _, c := range t.Components {
			if c.Type != "header" && c.Type != "body" && c.Type != "button" {
				return m, fmt.Sprintf("template component type %q is not header, body or button", c.Type)
			}
			for _, p := range c.Parameters {
				if p.Type != "text" || p.Text == "" {
					return m, fmt.Sprintf("template %s parameter needs type text and a non-empty text, got type %q", c.Type, p.Type)
				}
				if c.Type == "body" {
					st.Params = append(st.Params, Param{Name: p.ParameterName, Text: p.Text})
				}
			}
		}
		m.Template = st
	}
	return m, ""
}

func checkMedia(kind string, md *wireMedia) string {
	switch {
	case md.ID != "":
		return kind + ".id: the fake takes media by link only, as Switchboard sends it"
	case md.Link == "":
		return kind + ".link is missing"
	}
	if u, err := url.Parse(md.Link); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%s.link %q is not an http(s) URL", kind, md.Link)
	}
	if md.Caption != "" && (kind == "audio" || kind == "sticker") {
		return kind + " messages take no caption"
	}
	if utf8.RuneCountInString(md.Caption) > 1024 {
		return kind + ".caption is longer than 1024 characters"
	}
	if md.Filename != "" && kind != "document" {
		return "only documents take a filename, not " + kind
	}
	return ""
}

// checkTemplate matches a template send against the approved templates.
func (s *Server) checkTemplate(t *SentTemplate) (code int, problem string) {
	if t == nil || s.cfg.Templates == nil {
		return 0, ""
	}
	for _, a := range s.cfg.Templates {
		if a.Name == t.Name && a.Language == t.Language {
			if a.Params != len(t.Params) {
				return 132000, fmt.Sprintf("template %s (%s) takes %d body parameters, got %d", t.Name, t.Language, a.Params, len(t.Params))
			}
			return 0, ""
		}
	}
	return 132001, fmt.Sprintf("template name (%s) does not exist in %s", t.Name, t.Language)
}
