package twiliofake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/sid"
)

// Twilio's limits on one message.
const (
	maxBody  = 1600
	maxMedia = 10
)

// Message is a message the fake accepted.
type Message struct {
	Sid                 string
	To, From            string
	MessagingServiceSid string
	Body                string
	MediaURLs           []string
	ContentSid          string
	ContentVariables    string
	StatusCallback      string
	// Status is "sent" once accepted (the fake hands messages to the network
	// at once; its create answer still says "queued", as Twilio's does), then
	// whatever Report set.
	Status    string
	ErrorCode int
	// DateCreated is also the message's date_sent.
	DateCreated time.Time
	// Params is the request's form exactly as received.
	Params url.Values
}

func (m Message) clone() Message {
	m.MediaURLs = slices.Clone(m.MediaURLs)
	m.Params = cloneValues(m.Params)
	return m
}

// Messages returns the messages accepted so far, in the order accepted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = m.clone()
	}
	return out
}

// WaitMessages waits until at least n messages were accepted and returns them.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	if err := s.wait(ctx, func() bool { return len(s.messages) >= n }); err != nil {
		return nil, fmt.Errorf("waiting for %d messages: %w", n, err)
	}
	return s.Messages(), nil
}

// Message returns the accepted message with that SID.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Sid == sid {
			return m.clone(), true
		}
	}
	return Message{}, false
}

var (
	e164        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	shortCode   = regexp.MustCompile(`^[0-9]{5,6}$`)
	alphaSender = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter   = regexp.MustCompile(`[A-Za-z]`)
)

// createMessage is POST Messages.json.
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, http.StatusBadRequest, 20001, "Content-Type must be application/x-www-form-urlencoded, not "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Unreadable form: "+err.Error())
		return
	}
	form := r.PostForm
	s.waitWhileHeld()
	f, faulted := s.nextFault()
	if faulted && !f.Accept {
		f.answer(w)
		return
	}
	m, status, code, msg := parseMessage(form)
	if code != 0 {
		writeError(w, status, code, msg)
		return
	}
	s.mu.Lock()
	m.DateCreated = s.now().UTC().Truncate(time.Second)
	m.Sid = sid.New("SM")
	if len(m.MediaURLs) > 0 {
		m.Sid = sid.New("MM")
	}
	m.Status = "sent"
	s.messages = append(s.messages, m)
	s.notify()
	s.mu.Unlock()
	if faulted {
		f.answer(w)
		return
	}
	res := s.resource(m)
	res.Status, res.DateSent = "queued", nil
	writeJSON(w, http.StatusCreated, res)
}

// parseMessage checks a create request as Twilio does, answering its error
// codes.
func parseMessage(form url.Values) (m Message, status, code int, msg string) {
	m = Message{
		To: form.Get("To"), From: form.Get("From"), MessagingServiceSid: form.Get("MessagingServiceSid"),
		Body: form.Get("Body"), MediaURLs: form["MediaUrl"], ContentSid: form.Get("ContentSid"),
		ContentVariables: form.Get("ContentVariables"), StatusCallback: form.Get("StatusCallback"),
		Params: form,
	}
	bad := func(code int, format string, args ...any) (Message, int, int, string) {
		return m, http.StatusBadRequest, code, fmt.Sprintf(format, args...)
	}
	toNumber, toWA := strings.CutPrefix(m.To, "whatsapp:")
	fromNumber, fromWA := strings.CutPrefix(m.From, "whatsapp:")
	switch {
	case m.To == "":
		return bad(21604, "A 'To' phone number is required.")
	case m.From == "" && m.MessagingServiceSid == "":
		return bad(21603, "A 'From' phone number is required.")
	case m.Body == "" && len(m.MediaURLs) == 0 && m.ContentSid == "":
		return bad(21602, "Message body is required.")
	case !e164.MatchString(toNumber):
		return bad(21211, "Invalid 'To' Phone Number: %s", m.To)
	case m.From != "" && !e164.MatchString(fromNumber) &&
		(fromWA || !(shortCode.MatchString(m.From) || alphaSender.MatchString(m.From) && hasLetter.MatchString(m.From))):
		return bad(21212, "Invalid 'From' Phone Number: %s", m.From)
	case m.From != "" && toWA != fromWA:
		return bad(21910, "Invalid From and To pair. From and To should be of the same channel")
	case m.MessagingServiceSid != "" && !sid.Is(m.MessagingServiceSid, sid.MessagingService):
		return bad(21701, "The Messaging Service Sid %s is invalid.", m.MessagingServiceSid)
	case utf8.RuneCountInString(m.Body) > maxBody:
		return bad(21617, "The concatenated message body exceeds the %d character limit.", maxBody)
	case len(m.MediaURLs) > maxMedia:
		return bad(21623, "The number of media files exceeds the %d allowed.", maxMedia)
	case m.ContentSid != "" && !sid.Is(m.ContentSid, sid.ContentTemplate):
		return bad(21655, "The ContentSid is Invalid")
	case m.ContentVariables != "" && !json.Valid([]byte(m.ContentVariables)):
		return bad(21656, "The ContentVariables Parameter is invalid")
	case m.StatusCallback != "" && !httpURL(m.StatusCallback):
		return bad(21609, "Invalid StatusCallback url")
	}
	for _, u := range m.MediaURLs {
		if !httpURL(u) {
			return bad(21620, "Invalid media URL(s): %s", u)
		}
	}
	return m, 0, 0, ""
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// resource is Twilio's message JSON.
type resource struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func (s *Server) resource(m Message) resource {
	created := rfc2822(m.DateCreated)
	r := resource{
		AccountSid: s.AccountSid, APIVersion: APIVersion, Body: m.Body,
		DateCreated: created, DateSent: &created, DateUpdated: created, Direction: "outbound-api",
		NumMedia: strconv.Itoa(len(m.MediaURLs)), NumSegments: strconv.Itoa(segments(m.Body)),
		PriceUnit: "USD", Sid: m.Sid, Status: m.Status, To: m.To,
		SubresourceURIs: map[string]string{
			"media":    s.uri("Messages", m.Sid, "Media.json"),
			"feedback": s.uri("Messages", m.Sid, "Feedback.json"),
		},
		URI: s.uri("Messages", m.Sid+".json"),
	}
	if m.From != "" {
		r.From = &m.From
	}
	if m.MessagingServiceSid != "" {
		r.MessagingServiceSid = &m.MessagingServiceSid
	}
	if m.ErrorCode != 0 {
		r.ErrorCode = &m.ErrorCode
	}
	return r
}

// segments counts SMS segments: 160 GSM-7 characters in one, 153 per part
// when split; 70 and 67 for UCS-2. ASCII stands in for GSM-7.
func segments(body string) int {
	n, single, part := utf8.RuneCountInString(body), 160, 153
	for _, c := range body {
		if c > 0x7e {
			single, part = 70, 67
			break
		}
	}
	if n <= single {
		return 1
	}
	return (n + part - 1) / part
}

// listMessages is GET Messages.json: filtered, newest first, paged with the
// 2010 API's envelope and page tokens (PA… after a SID, PB… before one).
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	filter := url.Values{}
	var conds []func(Message) bool
	if v := q.Get("To"); v != "" {
		filter.Set("To", v)
		conds = append(conds, func(m Message) bool { return m.To == v })
	}
	if v := q.Get("From"); v != "" {
		filter.Set("From", v)
		conds = append(conds, func(m Message) bool { return m.From == v })
	}
	for _, k := range []string{"DateSent", "DateSent>", "DateSent<"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		cond, ok := dateFilter(k, v)
		if !ok {
			writeError(w, http.StatusBadRequest, 20001, fmt.Sprintf("Invalid %s: %s", k, v))
			return
		}
		filter.Set(k, v)
		conds = append(conds, cond)
	}
	pageSize, err := intParam(q, "PageSize", 50)
	if err != nil || pageSize < 1 || pageSize > 1000 {
		writeError(w, http.StatusBadRequest, 20001, "PageSize must be between 1 and 1000")
		return
	}
	page, err := intParam(q, "Page", 0)
	if err != nil || page < 0 {
		writeError(w, http.StatusBadRequest, 20001, "Page must be a non-negative number")
		return
	}

	s.mu.Lock()
	var all []Message
	for _, m := range slices.Backward(s.messages) {
		if !slices.ContainsFunc(conds, func(c func(Message) bool) bool { return !c(m) }) {
			all = append(all, m.clone())
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(all, func(a, b Message) int { return b.DateCreated.Compare(a.DateCreated) })

	start := page * pageSize
	if tok := q.Get("PageToken"); tok != "" {
		at := slices.IndexFunc(all, func(m Message) bool { return m.Sid == tok[min(2, len(tok)):] })
		switch {
		case at < 0:
			writeError(w, http.StatusBadRequest, 20001, "Invalid PageToken "+tok)
			return
		case strings.HasPrefix(tok, "PA"):
			start = at + 1
		default:
			start = max(at-pageSize, 0)
		}
	}
	start = min(start, len(all))
	items := all[start:min(start+pageSize, len(all))]

	pageURI := func(p int, token string) string {
		v := cloneValues(filter)
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(p))
		if token != "" {
			v.Set("PageToken", token)
		}
		return s.uri("Messages.json") + "?" + v.Encode()
	}
	env := struct {
		Messages        []resource `json:"messages"`
		End             int        `json:"end"`
		FirstPageURI    string     `json:"first_page_uri"`
		NextPageURI     *string    `json:"next_page_uri"`
		Page            int        `json:"page"`
		PageSize        int        `json:"page_size"`
		PreviousPageURI *string    `json:"previous_page_uri"`
		Start           int        `json:"start"`
		URI             string     `json:"uri"`
	}{
		Messages: []resource{}, End: max(start+len(items)-1, 0), FirstPageURI: pageURI(0, ""),
		Page: page, PageSize: pageSize, Start: start, URI: pageURI(page, q.Get("PageToken")),
	}
	for _, m := range items {
		env.Messages = append(env.Messages, s.resource(m))
	}
	if start+len(items) < len(all) && len(items) > 0 {
		next := pageURI(page+1, "PA"+items[len(items)-1].Sid)
		env.NextPageURI = &next
	}
	if start > 0 && len(items) > 0 {
		prev := pageURI(max(page-1, 0), "PB"+items[0].Sid)
		env.PreviousPageURI = &prev
	}
	writeJSON(w, http.StatusOK, env)
}

// dateFilter reads DateSent, DateSent> (on or after) and DateSent< (on or
// before), given as a day (YYYY-MM-DD) or an RFC 3339 time.
func dateFilter(k, v string) (func(Message) bool, bool) {
	if day, err := time.Parse(time.DateOnly, v); err == nil {
		next := day.AddDate(0, 0, 1)
		switch k {
		case "DateSent>":
			return func(m Message) bool { return !m.DateCreated.Before(day) }, true
		case "DateSent<":
			return func(m Message) bool { return m.DateCreated.Before(next) }, true
		}
		return func(m Message) bool { return !m.DateCreated.Before(day) && m.DateCreated.Before(next) }, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, false
	}
	t = t.Truncate(time.Second)
	switch k {
	case "DateSent>":
		return func(m Message) bool { return !m.DateCreated.Before(t) }, true
	case "DateSent<":
		return func(m Message) bool { return !m.DateCreated.After(t) }, true
	}
	return func(m Message) bool { return m.DateCreated.Equal(t) }, true
}

func intParam(q url.Values, k string, def int) (int, error) {
	if v := q.Get(k); v != "" {
		return strconv.Atoi(v)
	}
	return def, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
