// Package metafake is a local fake of the Meta Graph API endpoints that
// Switchboard's WhatsApp Cloud API provider uses, for tests and the load
// generator. It speaks Meta's wire format and checks our requests strictly:
//
//   - POST /{version}/{phone-number-id}/messages: Bearer token, JSON shape,
//     messaging_product "whatsapp", digits-only "to", exactly one
//     type-specific object matching "type", media links, template shape.
//     Accepted sends are recorded (Messages, WaitMessages) and answered like
//     Meta (contacts, messages[0].id "wamid.…"); refused ones get Meta's
//     error body and are listed by Problems.
//   - GET /{version}/{media-id} and the download URL it answers, both
//     requiring the Bearer token, for media registered with AddMedia (or
//     through an inbound message's Media).
//   - Failure injection: FailNext (Meta errors), Hold (sends hang until
//     released), AcceptThenFail (recorded, then answered 500 or cut off).
//
// It also plays Meta toward our server: Verify performs the GET
// verification handshake; PostMessages and PostStatuses send webhooks signed
// with X-Hub-Signature-256, built from the small Inbound and Status structs.
//
// A zero Config works: the defaults below fill every empty field, and
// ProviderConfig gives the matching channels.Config. All methods are safe
// for concurrent use.
package metafake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
)

// Version is the Graph API version in BaseURL.
const Version = "v21.0"

// Defaults for empty Config fields.
const (
	DefaultAccessToken        = "fake-meta-access-token"
	DefaultAppSecret          = "fake-meta-app-secret"
	DefaultVerifyToken        = "fake-meta-verify-token"
	DefaultPhoneNumberID      = "106540352242922"
	DefaultDisplayPhoneNumber = "15550783881"
	DefaultWABAID             = "102290129340398"
)

// Config is the Meta app and WhatsApp Business Account the fake pretends to be.
type Config struct {
	AccessToken string // required as "Authorization: Bearer …" on every Graph call
	AppSecret   string // signs webhooks posted to our server
	VerifyToken string // sent by Verify
	WABAID      string // the entry id of webhooks
	// Numbers maps the business phone number ids that may send to their
	// display phone numbers (digits). Empty means DefaultPhoneNumberID →
	// DefaultDisplayPhoneNumber.
	Numbers map[string]string
	// Templates, when non-nil, are the only approved templates: sending
	// another name and language fails with Meta's 132001, and a different
	// number of body parameters with 132000.
	Templates []Template
	// Client posts webhooks and verification requests to our server; nil
	// means a client with a 10 s timeout.
	Client *http.Client
}

// Template is an approved message template.
type Template struct {
	Name     string
	Language string
	Params   int // body parameters it takes
}

// Server is a running fake. Close it when done.
type Server struct {
	cfg    Config
	srv    *httptest.Server
	client *http.Client

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change, for waiters
	messages   []Message
	problems   []string
	media      map[string]storedMedia
	failures   []failure   // answers for the next sends, in order
	aftermaths []Aftermath // what follows the next accepted sends
	hold       chan struct{}
	held       int
}

// New starts a fake on a local port.
func New(cfg Config) *Server {
	if cfg.AccessToken == "" {
		cfg.AccessToken = DefaultAccessToken
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.VerifyToken == "" {
		cfg.VerifyToken = DefaultVerifyToken
	}
	if cfg.WABAID == "" {
		cfg.WABAID = DefaultWABAID
	}
	cfg.Numbers = maps.Clone(cfg.Numbers) // the fake reads it unlocked, so it must not change
	if len(cfg.Numbers) == 0 {
		cfg.Numbers = map[string]string{DefaultPhoneNumberID: DefaultDisplayPhoneNumber}
	}
	cfg.Templates = slices.Clone(cfg.Templates)
	s := &Server{cfg: cfg, client: cfg.Client, changed: make(chan struct{}), media: map[string]storedMedia{}}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.route))
	return s
}

// Close releases held sends and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// BaseURL is the Graph base including the version, for channels.Config.BaseURL.
func (s *Server) BaseURL() string { return s.srv.URL + "/" + Version }

// Config is the fake's configuration with defaults filled in.
func (s *Server) Config() Config {
	c := s.cfg
	c.Numbers, c.Templates = maps.Clone(c.Numbers), slices.Clone(c.Templates)
	return c
}

// ProviderConfig is a WhatsApp provider account matching the fake: Kind,
// access token, app secret, verify token and base URL. The caller adds Sid,
// WebhookURL and Templates.
func (s *Server) ProviderConfig() channels.Config {
	return channels.Config{
		Kind:        channels.KindWhatsApp,
		AccountID:   s.cfg.WABAID,
		Secret:      s.cfg.AccessToken,
		AppSecret:   s.cfg.AppSecret,
		VerifyToken: s.cfg.VerifyToken,
		BaseURL:     s.BaseURL(),
	}
}

// Messages returns the accepted sends so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitMessages waits until at least n sends were accepted and returns them.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	var out []Message
	err := s.waitFor(ctx, func() bool {
		if len(s.messages) < n {
			return false
		}
		out = append([]Message(nil), s.messages...)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("metafake: %d of %d messages arrived: %w", len(s.Messages()), n, err)
	}
	return out, nil
}

// Problems lists the requests the fake refused as malformed, unauthorized
// or not matching its numbers, media or templates (injected failures are
// not problems). A test whose requests should all be well-formed checks
// that it is empty.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// waitFor calls cond under the lock until it holds or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// changedLocked wakes waiters; s.mu is held.
func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// route dispatches Graph paths: /{version}/{phone-number-id}/messages,
// /{version}/{media-id} and the media download path.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == downloadPath:
		s.download(w, r)
	case len(parts) == 3 && parts[0] == Version && parts[2] == "messages" && r.Method == http.MethodPost:
		s.send(w, r, parts[1])
	case len(parts) == 2 && parts[0] == Version && r.Method == http.MethodGet:
		s.mediaInfo(w, r, parts[1])
	default:
		s.refuse(w, http.StatusBadRequest, 100, 0,
			fmt.Sprintf("Unknown path components: %s %s", r.Method, r.URL.Path), "")
	}
}

// authorized checks the Bearer token, answering Meta's 190 when it is wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bearer "+s.cfg.AccessToken {
		return true
	}
	s.refuse(w, http.StatusUnauthorized, 190, 0, "Invalid OAuth access token - Cannot parse access token", "")
	return false
}

// refuse records a problem and answers Meta's error body.
func (s *Server) refuse(w http.ResponseWriter, status, code, subcode int, message, details string) {
	problem := fmt.Sprintf("%d (#%d): %s", status, code, message)
	if details != "" {
		problem += ": " + details
	}
	s.mu.Lock()
	s.problems = append(s.problems, problem)
	s.changedLocked()
	s.mu.Unlock()
	writeError(w, status, code, subcode, message, details)
}

// writeError answers {"error": {message, type, code, error_subcode,
// error_data, fbtrace_id}} as the Graph API does.
func writeError(w http.ResponseWriter, status, code, subcode int, message, details string) {
	e := map[string]any{
		"message":    message,
		"type":       "OAuthException",
		"code":       code,
		"fbtrace_id": "A" + randomHex(10),
	}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if details != "" {
		e["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newWAMID is a message id shaped like Meta's: "wamid." and base64.
func newWAMID() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}
