package metafake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header Meta signs webhook POSTs with.
const SignatureHeader = "X-Hub-Signature-256"

// Sign returns the X-Hub-Signature-256 value Meta sends with body:
// "sha256=" + hex(HMAC-SHA256(appSecret, body)).
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Inbound is a customer's message as Meta reports it: a text unless Media
// or Location is set.
type Inbound struct {
	ID            string // the wamid; generated when empty
	From          string // the customer: "+15551234567", "15551234567" or "whatsapp:+15551234567"
	Name          string // the customer's profile name
	PhoneNumberID string // the business number written to; may be empty when the fake has one
	Text          string // the text, or nothing for media and locations
	Media         *Media
	Location      *Location
	ReplyTo       string // the wamid replied to (context.id)
}

// Media is an inbound attachment; the fake registers Data so that the
// provider can fetch it.
type Media struct {
	Kind     string // image (when empty), video, audio, document or sticker
	Data     []byte
	MIMEType string
	Filename string // documents
	Caption  string
}

// Location is a shared location.
type Location struct {
	Latitude, Longitude float64
	Name, Address       string
}

// Status is a delivery status of a message we sent; Message.Status fills
// one from a recorded send.
type Status struct {
	MessageID     string // the wamid the send was answered
	Ref           string // biz_opaque_callback_data echoed
	Status        string // sent, delivered, read or failed
	Recipient     string // the customer's digits
	PhoneNumberID string // the business number; may be empty when the fake has one
	ErrorCode     int    // for failed statuses
	ErrorTitle    string
}

// MessagesPayload is the webhook body Meta would POST for msgs, with the
// wamids of the messages in order. Media are registered with the fake.
func (s *Server) MessagesPayload(msgs ...Inbound) (body []byte, ids []string, err error) {
	var changes []change
	for _, in := range msgs {
		number, err := s.number(in.PhoneNumberID)
		if err != nil {
			return nil, nil, err
		}
		from := strings.TrimPrefix(strings.TrimPrefix(in.From, "whatsapp:"), "+")
		if from == "" {
			return nil, nil, fmt.Errorf("metafake: inbound message without From")
		}
		id := in.ID
		if id == "" {
			id = newWAMID()
		}
		ids = append(ids, id)
		m := map[string]any{"from": from, "id": id, "timestamp": now()}
		if in.ReplyTo != "" {
			m["context"] = map[string]any{"from": s.cfg.Numbers[number], "id": in.ReplyTo}
		}
		switch {
		case in.Media != nil:
			kind := in.Media.Kind
			if kind == "" {
				kind = "image"
			}
			mediaID := s.AddMedia(in.Media.Data, in.Media.MIMEType)
			sum := sha256.Sum256(in.Media.Data)
			obj := map[string]any{"id": mediaID, "mime_type": in.Media.MIMEType, "sha256": hex.EncodeToString(sum[:])}
			if in.Media.Caption != "" {
				obj["caption"] = in.Media.Caption
			}
			if in.Media.Filename != "" {
				obj["filename"] = in.Media.Filename
			}
			m["type"], m[kind] = kind, obj
		case in.Location != nil:
			l := in.Location
			obj := map[string]any{"latitude": l.Latitude, "longitude": l.Longitude}
			if l.Name != "" {
				obj["name"] = l.Name
			}
			if l.Address != "" {
				obj["address"] = l.Address
			}
			m["type"], m["location"] = "location", obj
		default:
			m["type"], m["text"] = "text", map[string]any{"body": in.Text}
		}
		c := changeFor(&changes, number, s.cfg.Numbers[number])
		c.Value["messages"] = append(c.Value["messages"].([]any), m)
		contacts, _ := c.Value["contacts"].([]map[string]any)
		if !slices.ContainsFunc(contacts, func(c map[string]any) bool { return c["wa_id"] == from }) {
			c.Value["contacts"] = append(contacts, map[string]any{"profile": map[string]any{"name": in.Name}, "wa_id": from})
		}
	}
	body, err = s.envelope(changes)
	return body, ids, err
}

// StatusesPayload is the webhook body Meta would POST for sts.
func (s *Server) StatusesPayload(sts ...Status) ([]byte, error) {
	var changes []change
	for _, st := range sts {
		number, err := s.number(st.PhoneNumberID)
		if err != nil {
			return nil, err
		}
		obj := map[string]any{"id": st.MessageID, "status": st.Status, "timestamp": now(), "recipient_id": st.Recipient}
		if st.Ref != "" {
			obj["biz_opaque_callback_data"] = st.Ref
		}
		switch st.Status {
		case "sent", "delivered":
			obj["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "service"}
		case "failed":
			code := st.ErrorCode
			if code == 0 {
				code = 131026
			}
			title := st.ErrorTitle
			if title == "" {
				title = strings.TrimPrefix(errorMessage(code), fmt.Sprintf("(#%d) ", code))
			}
			obj["errors"] = []any{map[string]any{"code": code, "title": title, "message": title, "error_data": map[string]any{"details": title}}}
		}
		c := changeFor(&changes, number, s.cfg.Numbers[number])
		statuses, _ := c.Value["statuses"].([]any)
		c.Value["statuses"] = append(statuses, obj)
	}
	return s.envelope(changes)
}

// PostMessages posts msgs to webhookURL as one signed webhook and returns
// their wamids; an answer other than 200 is an error.
func (s *Server) PostMessages(ctx context.Context, webhookURL string, msgs ...Inbound) ([]string, error) {
	body, ids, err := s.MessagesPayload(msgs...)
	if err != nil {
		return nil, err
	}
	return ids, s.postOK(ctx, webhookURL, body)
}

// PostStatuses posts sts to webhookURL as one signed webhook; an answer
// other than 200 is an error.
func (s *Server) PostStatuses(ctx context.Context, webhookURL string, sts ...Status) error {
	body, err := s.StatusesPayload(sts...)
	if err != nil {
		return err
	}
	return s.postOK(ctx, webhookURL, body)
}

func (s *Server) postOK(ctx context.Context, webhookURL string, body []byte) error {
	status, err := s.Post(ctx, webhookURL, body)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("metafake: webhook answered %d", status)
	}
	return err
}

// Post sends body to webhookURL signed with the app secret, as Meta does,
// and returns the HTTP status.
func (s *Server) Post(ctx context.Context, webhookURL string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set(SignatureHeader, Sign(s.cfg.AppSecret, body))
	return s.do(req, nil)
}

// Verify performs the GET verification handshake with verifyToken and
// returns the HTTP status. A 200 whose body is not the challenge is an error.
func (s *Server) Verify(ctx context.Context, webhookURL, verifyToken string) (int, error) {
	u, err := url.Parse(webhookURL)
	if err != nil {
		return 0, err
	}
	challenge := strconv.FormatUint(rand.Uint64(), 10)
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", verifyToken)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")
	var answer []byte
	status, err := s.do(req, &answer)
	if err == nil && status == http.StatusOK && string(answer) != challenge {
		err = fmt.Errorf("metafake: verification answered %q, want the challenge %q", answer, challenge)
	}
	return status, err
}

func (s *Server) do(req *http.Request, answer *[]byte) (int, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if answer != nil {
		*answer = b
	}
	return resp.StatusCode, err
}

// change is one entry[].changes[] element, for one business number.
type change struct {
	number string
	Value  map[string]any
}

// changeFor finds or adds the change for a business number.
func changeFor(changes *[]change, number, display string) *change {
	for i := range *changes {
		if (*changes)[i].number == number {
			return &(*changes)[i]
		}
	}
	*changes = append(*changes, change{number: number, Value: map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]any{"display_phone_number": display, "phone_number_id": number},
		"messages":          []any{},
	}})
	return &(*changes)[len(*changes)-1]
}

// envelope wraps changes in Meta's {"object", "entry": [{"id", "changes"}]}.
func (s *Server) envelope(changes []change) ([]byte, error) {
	var cs []any
	for _, c := range changes {
		if msgs, _ := c.Value["messages"].([]any); len(msgs) == 0 {
			delete(c.Value, "messages")
		}
		cs = append(cs, map[string]any{"value": c.Value, "field": "messages"})
	}
	return json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": s.cfg.WABAID, "changes": cs}},
	})
}

// number resolves a business phone number id, defaulting to the only one.
func (s *Server) number(id string) (string, error) {
	if id == "" {
		if len(s.cfg.Numbers) != 1 {
			return "", fmt.Errorf("metafake: the fake has %d numbers; say which PhoneNumberID", len(s.cfg.Numbers))
		}
		for n := range s.cfg.Numbers {
			return n, nil
		}
	}
	if _, ok := s.cfg.Numbers[id]; !ok {
		return "", fmt.Errorf("metafake: phone number id %s is not one of the fake's numbers", id)
	}
	return id, nil
}

func now() string { return strconv.FormatInt(time.Now().Unix(), 10) }
