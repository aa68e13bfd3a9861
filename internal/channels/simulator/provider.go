package simulator

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// TokenHeader carries the account's token on every simulator webhook.
const TokenHeader = "X-Simulator-Token"

// Webhook body types.
const (
	typeMessage = "message"
	typeStatus  = "status"
)

// inboundWire is a phone's message as the simulator's webhook carries it.
type inboundWire struct {
	Type        string      `json:"type"`
	ID          string      `json:"id"`
	From        string      `json:"from"`
	To          string      `json:"to"`
	Body        string      `json:"body,omitempty"`
	Media       []mediaWire `json:"media,omitempty"`
	ProfileName string      `json:"profile_name,omitempty"`
}

type mediaWire struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Filename    string `json:"filename,omitempty"`
}

// statusWire is a status report on one of the server's messages.
type statusWire struct {
	Type   string `json:"type"`
	Ref    string `json:"ref,omitempty"`
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// request is a webhook request with a JSON body, as the network posts it.
func request(token string, body any) channels.Request {
	b, err := json.Marshal(body)
	if err != nil {
		panic("simulator: webhook body does not marshal: " + err.Error()) // only our own plain structs get here
	}
	return channels.Request{
		Method: http.MethodPost,
		Header: http.Header{"Content-Type": {"application/json"}, TokenHeader: {token}},
		Body:   b,
	}
}

// Provider is one simulator account on a Network. It holds no mutable state
// of its own.
type Provider struct {
	n      *Network
	sid    string
	secret string
}

var _ channels.Provider = (*Provider)(nil)

// NewFactory builds simulator providers on n for the channel layer. An
// account's Secret is the token its webhooks must carry.
func NewFactory(n *Network) channels.Factory {
	return func(cfg channels.Config) (channels.Provider, error) {
		if cfg.Secret == "" {
			return nil, errors.New("simulator: the account has no Secret, the token its webhooks carry")
		}
		return &Provider{n: n, sid: cfg.Sid, secret: cfg.Secret}, nil
	}
}

// Parse checks the token and reads a phone's message or a status report.
func (p *Provider) Parse(r channels.Request) (channels.Batch, error) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(TokenHeader)), []byte(p.secret)) != 1 {
		return channels.Batch{}, channels.ErrUnauthorized
	}
	if r.Method != http.MethodPost {
		return channels.Batch{}, errs.Invalidf("simulator webhooks are POST, not %s", r.Method)
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return channels.Batch{}, errs.Invalidf("simulator webhooks are application/json, not %q", r.Header.Get("Content-Type"))
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(r.Body, &head); err != nil {
		return channels.Batch{}, errs.Invalidf("simulator webhook body is not JSON: %v", err)
	}
	switch head.Type {
	case typeMessage:
		in, err := parseMessage(r.Body)
		return channels.Batch{Messages: []channels.Inbound{in}}, err
	case typeStatus:
		st, err := parseStatus(r.Body)
		return channels.Batch{Statuses: []channels.Status{st}}, err
	}
	return channels.Batch{}, errs.Invalidf("simulator webhook type must be %q or %q, got %q", typeMessage, typeStatus, head.Type)
}

func parseMessage(body []byte) (channels.Inbound, error) {
	var w inboundWire
	if err := json.Unmarshal(body, &w); err != nil {
		return channels.Inbound{}, errs.Invalidf("simulator message: %v", err)
	}
	k, err := NewKey(w.From, w.To)
	if err != nil {
		return channels.Inbound{}, err
	}
	if k.Phone != w.From {
		return channels.Inbound{}, errs.Invalidf("a message to %s must come from the same network, not %q", w.To, w.From)
	}
	if w.ID == "" {
		return channels.Inbound{}, errs.Invalidf("simulator message has no id")
	}
	in := channels.Inbound{ExternalID: w.ID, From: k.Phone, To: k.Sender, Body: w.Body, ProfileName: w.ProfileName, Source: channels.SourceSMS}
	if k.WhatsApp() {
		in.Source = channels.SourceWhatsApp
	}
	for i, m := range w.Media {
		if !strings.HasPrefix(m.URL, mediaURLPrefix) || m.ContentType == "" {
			return in, errs.Invalidf("simulator media %d needs a %s… url and a content_type", i, mediaURLPrefix)
		}
		in.Media = append(in.Media, channels.InboundMedia{URL: m.URL, ContentType: m.ContentType, Filename: m.Filename})
	}
	return in, nil
}

func parseStatus(body []byte) (channels.Status, error) {
	var w statusWire
	if err := json.Unmarshal(body, &w); err != nil {
		return channels.Status{}, errs.Invalidf("simulator status: %v", err)
	}
	switch w.Status {
	case channels.StatusSent, channels.StatusDelivered, channels.StatusRead, channels.StatusFailed, channels.StatusUndelivered:
	default:
		return channels.Status{}, errs.Invalidf("simulator status must be sent, delivered, read, failed or undelivered, got %q", w.Status)
	}
	if w.ID == "" && w.Ref == "" {
		return channels.Status{}, errs.Invalidf("simulator status names no message (id or ref)")
	}
	return channels.Status{Ref: w.Ref, ExternalID: w.ID, Status: w.Status, Error: w.Error}, nil
}

// Send puts a message on the phone's thread and returns its id. The network
// reports it delivered after its latency, through the account's webhook.
func (p *Provider) Send(_ context.Context, m channels.Outbound) (string, error) {
	k, err := NewKey(m.To, m.From)
	if err != nil || k.Phone != m.To {
		// Twilio's code for a 'To' that is not a number on the sender's network.
		return "", &channels.SendError{Permanent: true, Code: 21211, Message: fmt.Sprintf("%q is not a phone on the network of %q", m.To, m.From)}
	}
	body := m.Body
	if m.ContentSid != "" {
		// The simulator has no template store: show what would be filled in.
		body = "Template " + m.ContentSid
		if m.ContentVariables != "" {
			body += " " + m.ContentVariables
		}
	}
	msg := &message{
		Message:     Message{ID: randomID("SM"), Ref: m.Ref, Direction: Outbound, Body: body, Time: time.Now().UTC(), Status: channels.StatusSent},
		providerSid: p.sid, secret: p.secret,
	}
	for _, media := range m.Media {
		msg.Media = append(msg.Media, Media{URL: media.URL, ContentType: media.ContentType, Filename: media.Filename})
	}
	p.n.received(k, msg)
	return msg.ID, nil
}

// Find returns the ids of the messages sent with m's reference since a time.
func (p *Provider) Find(_ context.Context, m channels.Outbound, since time.Time) ([]string, error) {
	k, err := NewKey(m.To, m.From)
	if err != nil {
		return nil, nil
	}
	return p.n.sentSince(k, m.Ref, since), nil
}

// FetchMedia returns a phone's attachment named in one of its messages.
func (p *Provider) FetchMedia(_ context.Context, url string) (io.ReadCloser, string, error) {
	id, ok := strings.CutPrefix(url, mediaURLPrefix)
	if !ok {
		return nil, "", fmt.Errorf("simulator: %q is not a simulator media URL", url)
	}
	a, ok := p.n.Attachment(id)
	if !ok {
		return nil, "", fmt.Errorf("simulator: media %s is gone (the network keeps the last %d MB)", id, p.n.maxMediaTotal>>20)
	}
	return io.NopCloser(bytes.NewReader(a.Data)), a.ContentType, nil
}
