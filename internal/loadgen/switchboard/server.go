// Package switchboard is the load generator's side of a running
// Switchboard: its REST API for setting up, simulated customers (a carrier
// webhook, the chat protocol) and simulated agents on the desktop.
package switchboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Server is a running Switchboard and the account the bench drives it as.
type Server struct {
	Base       string // http://127.0.0.1:PORT
	AccountSid string
	AuthToken  string
	HTTP       *http.Client
}

// NewHTTPClient is a client for many requests in flight to one loopback
// server: keeping a connection per request in flight saves a handshake per
// message.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
	}}
}

// Call makes a REST request with the account's credentials and decodes a
// JSON answer into out (when not nil); an answer of 300 or more is an
// error carrying its body.
func (s *Server) Call(ctx context.Context, method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Base+path, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.AccountSid, s.AuthToken)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Workspace is the TaskRouter workspace the demo staff work in, with its
// activities by name.
type Workspace struct {
	Sid        string
	Activities map[string]string
}

// DemoWorkspace finds the workspace `serve --dev` seeds (the oldest, where
// staff are provisioned) and its activities.
func (s *Server) DemoWorkspace(ctx context.Context) (Workspace, error) {
	var list struct {
		Workspaces []struct {
			Sid         string `json:"sid"`
			DateCreated string `json:"date_created"`
		} `json:"workspaces"`
	}
	if err := s.Call(ctx, http.MethodGet, "/v1/Workspaces?PageSize=1000", nil, &list); err != nil {
		return Workspace{}, err
	}
	if len(list.Workspaces) == 0 {
		return Workspace{}, fmt.Errorf("the server has no TaskRouter workspace")
	}
	oldest := list.Workspaces[0]
	for _, w := range list.Workspaces[1:] {
		if w.DateCreated < oldest.DateCreated {
			oldest = w
		}
	}
	var acts struct {
		Activities []struct {
			Sid          string `json:"sid"`
			FriendlyName string `json:"friendly_name"`
		} `json:"activities"`
	}
	if err := s.Call(ctx, http.MethodGet, "/v1/Workspaces/"+oldest.Sid+"/Activities?PageSize=1000", nil, &acts); err != nil {
		return Workspace{}, err
	}
	ws := Workspace{Sid: oldest.Sid, Activities: map[string]string{}}
	for _, a := range acts.Activities {
		ws.Activities[a.FriendlyName] = a.Sid
	}
	return ws, nil
}

// ChatService is the Conversations service chat identities live in.
func (s *Server) ChatService(ctx context.Context) (string, error) {
	var cfg struct {
		DefaultChatServiceSid string `json:"default_chat_service_sid"`
	}
	err := s.Call(ctx, http.MethodGet, "/v1/Configuration", nil, &cfg)
	return cfg.DefaultChatServiceSid, err
}

// SMSLine makes number an SMS number of a Twilio-kind carrier account
// with authToken, on which a first message opens a conversation, and
// returns the account's webhook URL.
func (s *Server) SMSLine(ctx context.Context, number, authToken string) (string, error) {
	var p struct {
		Sid        string `json:"sid"`
		WebhookURL string `json:"webhook_url"`
	}
	if err := s.Call(ctx, http.MethodPost, "/v1/Channels/Providers", url.Values{"Kind": {"twilio"},
		"FriendlyName": {"Load generator"}, "AccountId": {s.AccountSid}, "Secret": {authToken}}, &p); err != nil {
		return "", err
	}
	if err := s.Call(ctx, http.MethodPost, "/v1/Channels/Senders", url.Values{"Address": {number}, "ProviderSid": {p.Sid}}, nil); err != nil {
		return "", err
	}
	err := s.Call(ctx, http.MethodPost, "/v1/Configuration/Addresses", url.Values{"Type": {"sms"}, "Address": {number},
		"FriendlyName": {"Load generator"}, "AutoCreation.Enabled": {"true"}, "AutoCreation.Type": {"default"}}, nil)
	return p.WebhookURL, err
}

// ChatConversation opens a conversation with chat identity as its customer.
func (s *Server) ChatConversation(ctx context.Context, identity string) (string, error) {
	var c struct {
		Sid string `json:"sid"`
	}
	if err := s.Call(ctx, http.MethodPost, "/v1/Conversations", url.Values{"FriendlyName": {"Chat with " + identity}}, &c); err != nil {
		return "", err
	}
	return c.Sid, s.Call(ctx, http.MethodPost, "/v1/Conversations/"+c.Sid+"/Participants", url.Values{"Identity": {identity},
		"Attributes": {`{"friendlyName":"` + identity + `"}`}}, nil)
}

// UpdateWorker changes a worker through TaskRouter's REST API.
func (s *Server) UpdateWorker(ctx context.Context, workspace, worker string, form url.Values) error {
	return s.Call(ctx, http.MethodPost, "/v1/Workspaces/"+workspace+"/Workers/"+worker, form, nil)
}

// SetCapacity sets a worker's capacity on a task channel (by unique name).
func (s *Server) SetCapacity(ctx context.Context, workspace, worker, channel string, capacity int) error {
	return s.Call(ctx, http.MethodPost, "/v1/Workspaces/"+workspace+"/Workers/"+worker+"/Channels/"+channel,
		url.Values{"Capacity": {fmt.Sprint(capacity)}, "Available": {"true"}}, nil)
}
