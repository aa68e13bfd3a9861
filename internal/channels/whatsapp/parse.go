package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Parse handles Meta's two webhook requests. A GET is the verification
// handshake: with hub.mode=subscribe and our verify token it answers
// hub.challenge as text/plain; a wrong token is channels.ErrUnauthorized. A
// POST must carry a valid X-Hub-Signature-256 (else ErrUnauthorized); its
// messages become Inbounds and its statuses Statuses. Meta's other webhook
// fields (account and template updates) carry neither and yield an empty
// Batch. Malformed payloads are errs.Invalid.
func (p *Provider) Parse(r channels.Request) (channels.Batch, error) {
	switch r.Method {
	case http.MethodGet:
		return p.verify(r.URL)
	case http.MethodPost:
		if !p.signed(r.Header.Get(SignatureHeader), r.Body) {
			return channels.Batch{}, channels.ErrUnauthorized
		}
		return p.parse(r.Body)
	}
	return channels.Batch{}, errs.Invalidf("WhatsApp webhooks are GET (verification) or POST, not %s", r.Method)
}

// verify answers the subscription handshake.
func (p *Provider) verify(rawURL string) (channels.Batch, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return channels.Batch{}, errs.Invalidf("webhook URL: %v", err)
	}
	q := u.Query()
	if mode := q.Get("hub.mode"); mode != "subscribe" {
		return channels.Batch{}, errs.Invalidf("hub.mode is %q, want subscribe", mode)
	}
	token := q.Get("hub.verify_token")
	// An account without a verify token refuses every handshake rather than
	// accepting an empty one.
	if p.verifyToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(p.verifyToken)) != 1 {
		return channels.Batch{}, channels.ErrUnauthorized
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" {
		return channels.Batch{}, errs.Invalidf("hub.challenge is missing")
	}
	return channels.Batch{Reply: &channels.Reply{ContentType: "text/plain", Body: []byte(challenge)}}, nil
}

// signed checks header against HMAC-SHA256(app secret, body) in constant time.
func (p *Provider) signed(header string, body []byte) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, p.appSecret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// The webhook payload: entry[].changes[].value, as Meta documents it for
// the "messages" field.
type payload struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value value  `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type value struct {
	MessagingProduct string `json:"messaging_product"`
	Metadata         struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []message `json:"messages"`
	Statuses []status  `json:"statuses"`
}

type message struct {
	From    string `json:"from"`
	ID      string `json:"id"`
	Type    string `json:"type"`
	Context *struct {
		From                string `json:"from"`
		ID                  string `json:"id"`
		Forwarded           bool   `json:"forwarded"`
		FrequentlyForwarded bool   `json:"frequently_forwarded"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *inboundMedia `json:"image"`
	Video    *inboundMedia `json:"video"`
	Audio    *inboundMedia `json:"audio"`
	Document *inboundMedia `json:"document"`
	Sticker  *inboundMedia `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
		URL       string  `json:"url"`
	} `json:"location"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *reply `json:"button_reply"`
		ListReply   *reply `json:"list_reply"`
	} `json:"interactive"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Unsupported *struct {
		Type string `json:"type"`
	} `json:"unsupported"`
	Referral map[string]any `json:"referral"`
	Errors   []webhookError `json:"errors"`
}

type inboundMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

type reply struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

type status struct {
	ID                    string         `json:"id"`
	Status                string         `json:"status"`
	RecipientID           string         `json:"recipient_id"`
	BizOpaqueCallbackData string         `json:"biz_opaque_callback_data"`
	Errors                []webhookError `json:"errors"`
}

type webhookError struct {
	Code      flexInt `json:"code"`
	Title     string  `json:"title"`
	Message   string  `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

// describe is the error's title with Meta's details when it gives them.
func (e webhookError) describe() string {
	s := e.Title
	if s == "" {
		s = e.Message
	}
	if d := e.ErrorData.Details; d != "" && d != s {
		if s == "" {
			return d
		}
		s += ": " + d
	}
	return s
}

// The delivery states we report; Meta's others (deleted, warning, played)
// say nothing about delivery.
var statuses = map[string]string{
	"sent":      channels.StatusSent,
	"delivered": channels.StatusDelivered,
	"read":      channels.StatusRead,
	"failed":    channels.StatusFailed,
}

func (p *Provider) parse(body []byte) (channels.Batch, error) {
	var pl payload
	if err := json.Unmarshal(body, &pl); err != nil {
		return channels.Batch{}, errs.Invalidf("WhatsApp webhook body is not the JSON Meta sends: %v", err)
	}
	if pl.Object != "whatsapp_business_account" {
		return channels.Batch{}, errs.Invalidf("webhook object is %q, want whatsapp_business_account", pl.Object)
	}
	var b channels.Batch
	for _, e := range pl.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" {
				continue
			}
			v := c.Value
			if len(v.Messages) == 0 && len(v.Statuses) == 0 {
				continue
			}
			display := digits(v.Metadata.DisplayPhoneNumber)
			if display == "" || v.Metadata.PhoneNumberID == "" {
				return channels.Batch{}, errs.Invalidf("webhook value has no metadata.display_phone_number or metadata.phone_number_id")
			}
			for _, m := range v.Messages {
				in, err := p.inbound(m, "whatsapp:+"+display, v.Metadata.PhoneNumberID)
				if err != nil {
					return channels.Batch{}, err
				}
				in.ProfileName = profileName(v, m.From)
				b.Messages = append(b.Messages, in)
			}
			for _, s := range v.Statuses {
				if s.ID == "" || s.Status == "" {
					return channels.Batch{}, errs.Invalidf("a WhatsApp status has no id or status")
				}
				st, ok := statuses[s.Status]
				if !ok {
					continue
				}
				out := channels.Status{Ref: s.BizOpaqueCallbackData, ExternalID: s.ID, Status: st}
				if len(s.Errors) > 0 {
					out.ErrorCode, out.Error = int(s.Errors[0].Code), s.Errors[0].describe()
				}
				b.Statuses = append(b.Statuses, out)
			}
		}
	}
	return b, nil
}

// profileName finds the sender's name among the value's contacts; a lone
// contact is the sender even when its wa_id is not the phone number.
func profileName(v value, from string) string {
	for _, c := range v.Contacts {
		if c.WaID == from {
			return c.Profile.Name
		}
	}
	if len(v.Contacts) == 1 {
		return v.Contacts[0].Profile.Name
	}
	return ""
}

// inbound turns one webhook message into an Inbound. Every type is kept:
// those we cannot show get a Body saying what arrived.
func (p *Provider) inbound(m message, to, phoneNumberID string) (channels.Inbound, error) {
	from := strings.TrimPrefix(m.From, "+")
	if m.ID == "" || m.Type == "" || from == "" || digits(from) != from {
		return channels.Inbound{}, errs.Invalidf("a WhatsApp message lacks an id, a type or a numeric sender")
	}
	attrs := map[string]any{"phone_number_id": phoneNumberID, "message_type": m.Type}
	in := channels.Inbound{
		ExternalID: m.ID,
		From:       "whatsapp:+" + from,
		To:         to,
		Source:     channels.SourceWhatsApp,
		Attributes: attrs,
	}
	if c := m.Context; c != nil {
		if c.ID != "" {
			attrs["reply_to"] = c.ID
		}
		if c.Forwarded {
			attrs["forwarded"] = true
		}
		if c.FrequentlyForwarded {
			attrs["frequently_forwarded"] = true
		}
	}
	if len(m.Referral) > 0 {
		attrs["referral"] = m.Referral
	}
	if len(m.Errors) > 0 {
		attrs["error_code"], attrs["error"] = int(m.Errors[0].Code), m.Errors[0].describe()
	}
	missing := func() error {
		return errs.Invalidf("WhatsApp %s message %s has no %s object", m.Type, m.ID, m.Type)
	}
	switch m.Type {
	case "text":
		if m.Text == nil {
			return in, missing()
		}
		in.Body = m.Text.Body
	case "image", "video", "audio", "document", "sticker":
		md := map[string]*inboundMedia{"image": m.Image, "video": m.Video, "audio": m.Audio, "document": m.Document, "sticker": m.Sticker}[m.Type]
		if md == nil || md.ID == "" {
			return in, errs.Invalidf("WhatsApp %s message %s has no media id", m.Type, m.ID)
		}
		in.Body = md.Caption
		in.Media = []channels.InboundMedia{{URL: p.mediaURL(md.ID), ContentType: md.MimeType, Filename: md.Filename}}
		if md.Voice {
			attrs["voice"] = true
		}
		if md.Animated {
			attrs["animated"] = true
		}
	case "location":
		l := m.Location
		if l == nil {
			return in, missing()
		}
		loc := map[string]any{"latitude": l.Latitude, "longitude": l.Longitude}
		for k, v := range map[string]string{"name": l.Name, "address": l.Address, "url": l.URL} {
			if v != "" {
				loc[k] = v
			}
		}
		attrs["location"] = loc
		in.Body = describeLocation(l.Latitude, l.Longitude, l.Name, l.Address)
	case "button":
		if m.Button == nil {
			return in, missing()
		}
		in.Body = m.Button.Text
		attrs["button"] = map[string]any{"text": m.Button.Text, "payload": m.Button.Payload}
	case "interactive":
		it := m.Interactive
		if it == nil {
			return in, missing()
		}
		r := it.ButtonReply
		if r == nil {
			r = it.ListReply
		}
		if r == nil {
			in.Body = "Replied to an interactive message (" + it.Type + ")"
			attrs["interactive"] = map[string]any{"type": it.Type}
			break
		}
		in.Body = r.Title
		attrs["interactive"] = map[string]any{"type": it.Type, "id": r.ID, "title": r.Title, "description": r.Description}
	case "reaction":
		if m.Reaction == nil {
			return in, missing()
		}
		if m.Reaction.Emoji == "" {
			in.Body = "Removed a reaction"
		} else {
			in.Body = "Reacted " + m.Reaction.Emoji
		}
		attrs["reaction"] = map[string]any{"message_id": m.Reaction.MessageID, "emoji": m.Reaction.Emoji}
	case "unsupported":
		kind := "unknown"
		if m.Unsupported != nil && m.Unsupported.Type != "" {
			kind = m.Unsupported.Type
		}
		attrs["unsupported_type"] = kind
		in.Body = "Sent a message WhatsApp's Cloud API does not support (" + kind + ")"
	default:
		in.Body = "Sent a WhatsApp " + m.Type + " message, which cannot be shown here"
	}
	return in, nil
}

// describeLocation is a readable line for a shared location.
func describeLocation(lat, long float64, name, address string) string {
	coords := strconv.FormatFloat(lat, 'f', -1, 64) + ", " + strconv.FormatFloat(long, 'f', -1, 64)
	var place []string
	for _, s := range []string{name, address} {
		if s != "" {
			place = append(place, s)
		}
	}
	if len(place) == 0 {
		return "Location: " + coords
	}
	return "Location: " + strings.Join(place, ", ") + " (" + coords + ")"
}
