// Package twiliofake is a fake of the parts of api.twilio.com Switchboard
// uses, for tests and the load generator. It speaks Twilio's wire format and
// checks what it is sent, so a test passing against it exercises the real
// client code:
//
//   - POST /2010-04-01/Accounts/{AC}/Messages.json creates a message
//     (Basic auth, To, From or MessagingServiceSid, Body or MediaUrl or
//     ContentSid checked; Twilio's error codes on refusal) and answers 201
//     with Twilio's message JSON.
//   - GET the same path lists messages (To, From, DateSent, DateSent>,
//     DateSent< filters; the 2010 API's paging envelope; newest first).
//   - Inbound media live at Twilio-style media URLs on the fake, which need
//     Basic auth and redirect (302) to a second host, a stand-in for
//     Twilio's storage, that refuses any request carrying credentials.
//
// Failures are injected with FailSends (errors, accepted-then-lost
// answers, dropped connections) and HoldSends (sends hang until released).
// Accepted messages are recorded (Messages, WaitMessages). The fake also
// plays Twilio toward our server: SendInbound and SendStatus post signed
// webhooks, and SMS, MMS, WhatsApp and StatusParams build realistic ones.
//
// Every method is safe for concurrent use.
package twiliofake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// APIVersion is the Messaging API's version, in paths and payloads.
const APIVersion = "2010-04-01"

// Server is a fake Twilio account and API.
type Server struct {
	// AccountSid and AuthToken are the account's credentials: requests must
	// use them, and webhooks are signed with the token.
	AccountSid string
	AuthToken  string
	// URL is the API's base URL (http://127.0.0.1:port), the provider's
	// channels.Config.BaseURL.
	URL string

	api     *httptest.Server
	storage *httptest.Server // the host media URLs redirect to
	client  *http.Client     // for webhooks toward our server

	mu       sync.Mutex
	now      func() time.Time
	messages []Message
	media    map[string]mediaFile // by storage key
	faults   []fault
	hold     chan struct{} // non-nil while sends are held; closed to release
	held     int
	changed  chan struct{} // closed and replaced on every change, for waiters
}

// New starts a fake with a fresh account. Close it when done.
func New() *Server {
	s := &Server{
		AccountSid: sid.New(sid.Account),
		AuthToken:  randomHex(16),
		now:        time.Now,
		media:      map[string]mediaFile{},
		changed:    make(chan struct{}),
		// Twilio gives up on a webhook after 15 s.
		client: &http.Client{Timeout: 15 * time.Second},
	}
	mux := http.NewServeMux()
	base := "/" + APIVersion + "/Accounts/{account}/"
	mux.HandleFunc("POST "+base+"Messages.json", s.createMessage)
	mux.HandleFunc("GET "+base+"Messages.json", s.listMessages)
	mux.HandleFunc("GET "+base+"Messages/{message}/Media/{media}", s.mediaRedirect)
	s.api = httptest.NewServer(mux)
	s.storage = httptest.NewServer(http.HandlerFunc(s.serveStorage))
	s.URL = s.api.URL
	return s
}

// Close releases held sends and stops the fake's servers.
func (s *Server) Close() {
	s.ReleaseSends()
	s.api.Close()
	s.storage.Close()
}

// Config is a Twilio provider account on this fake, with our server's
// public webhook URL.
func (s *Server) Config(webhookURL string) channels.Config {
	return channels.Config{Kind: channels.KindTwilio, AccountID: s.AccountSid, Secret: s.AuthToken,
		BaseURL: s.URL, WebhookURL: webhookURL}
}

// SetClock makes the fake date what it creates by now (time.Now by
// default), so tests can place messages in the past.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// authorized checks HTTP Basic AccountSid:AuthToken and the account in the
// path, answering Twilio's 20003 when they do not match.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSid || pass != s.AuthToken {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	if r.PathValue("account") != s.AccountSid {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return false
	}
	return true
}

// restError is Twilio's error body.
type restError struct {
	Code     *int   `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	body := restError{Message: message, Status: status}
	if code != 0 {
		body.Code = &code
		body.MoreInfo = fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// notify wakes waiters after a change; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// rfc2822 formats a time the way the 2010 API does.
func rfc2822(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

// uri is an API path under the account.
func (s *Server) uri(rest ...string) string {
	return "/" + APIVersion + "/Accounts/" + s.AccountSid + "/" + strings.Join(rest, "/")
}
