package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
)

// Meta error codes that say "later", whatever the HTTP status (Meta answers
// most errors with 400).
var temporaryCodes = map[int]bool{
	4:      true, // application request limit reached
	80007:  true, // WhatsApp Business Account rate limit
	130429: true, // Cloud API throughput limit
	131056: true, // pair rate limit: too many messages to one customer
	2:      true, // Graph API service temporarily unavailable
	131016: true, // service unavailable
	133004: true, // server temporarily unavailable
}

// CodeOutsideWindow is Meta's error for a free-form message more than 24 h
// after the customer last wrote: only a template can reach them now.
const CodeOutsideWindow = 131047

// sendRequest is the body of POST /{phone-number-id}/messages.
type sendRequest struct {
	MessagingProduct string    `json:"messaging_product"`
	RecipientType    string    `json:"recipient_type"`
	To               string    `json:"to"`
	Type             string    `json:"type"`
	Text             *text     `json:"text,omitempty"`
	Image            *media    `json:"image,omitempty"`
	Video            *media    `json:"video,omitempty"`
	Audio            *media    `json:"audio,omitempty"`
	Document         *media    `json:"document,omitempty"`
	Sticker          *media    `json:"sticker,omitempty"`
	Template         *template `json:"template,omitempty"`
	// BizOpaqueCallbackData comes back on every status of the message, which
	// is how statuses find our delivery without a lookup API.
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`
}

type text struct {
	Body string `json:"body"`
}

type media struct {
	Link     string `json:"link"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type template struct {
	Name       string      `json:"name"`
	Language   language    `json:"language"`
	Components []component `json:"components,omitempty"`
}

type language struct {
	Code string `json:"code"`
}

type component struct {
	Type       string      `json:"type"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type          string `json:"type"`
	ParameterName string `json:"parameter_name,omitempty"`
	Text          string `json:"text"`
}

type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// Send posts m to {base}/{m.SenderID}/messages and returns Meta's message id
// (a wamid). Errors are *channels.SendError: rate limits and outages are
// temporary even when Meta answers 400, and a message outside the 24-hour
// window (CodeOutsideWindow) is permanent.
func (p *Provider) Send(ctx context.Context, m channels.Outbound) (string, error) {
	body, serr := p.request(m)
	if serr != nil {
		return "", serr
	}
	data, err := json.Marshal(body)
	if err != nil {
		return "", &channels.SendError{Permanent: true, Message: "encoding the message: " + err.Error()}
	}
	target := p.base + "/" + url.PathEscape(m.SenderID) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
	if err != nil {
		return "", &channels.SendError{Permanent: true, Message: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", &channels.SendError{Message: "WhatsApp Cloud API unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", &channels.SendError{Message: "reading the WhatsApp Cloud API's answer: " + err.Error()}
	}
	if resp.StatusCode/100 != 2 {
		return "", sendFailure(resp, answer)
	}
	var sr sendResponse
	if json.Unmarshal(answer, &sr) != nil || len(sr.Messages) == 0 || sr.Messages[0].ID == "" {
		// Meta may well have taken the message, but without its id we cannot
		// tell; a retry is the lesser harm than a message never sent.
		return "", &channels.SendError{Message: fmt.Sprintf("the WhatsApp Cloud API answered %d without a message id", resp.StatusCode)}
	}
	return sr.Messages[0].ID, nil
}

// sendFailure classifies a non-2xx answer.
func sendFailure(resp *http.Response, body []byte) *channels.SendError {
	code, msg := describeFailure(resp.StatusCode, body)
	se := channels.HTTPSendError(resp.StatusCode, code, msg, retryAfter(resp.Header.Get("Retry-After")))
	switch {
	case temporaryCodes[code]:
		se.Permanent = false
	case code == CodeOutsideWindow:
		se.Permanent = true
		se.Message = "outside WhatsApp's 24-hour customer service window; only a template can be sent: " + msg
	}
	return se
}

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// request builds the Graph request for m, or says why Meta would refuse it.
func (p *Provider) request(m channels.Outbound) (*sendRequest, *channels.SendError) {
	if m.SenderID == "" {
		return nil, permanent("no WhatsApp phone number id to send from")
	}
	to, ok := strings.CutPrefix(strings.TrimPrefix(m.To, "whatsapp:"), "+")
	if !ok || to == "" || len(to) > 15 || digits(to) != to {
		return nil, permanent(fmt.Sprintf("recipient %q is not a WhatsApp address (whatsapp:+E164)", m.To))
	}
	r := &sendRequest{
		MessagingProduct:      "whatsapp",
		RecipientType:         "individual",
		To:                    to,
		BizOpaqueCallbackData: m.Ref,
	}
	switch {
	case m.ContentSid != "":
		t, serr := p.template(m.ContentSid, m.ContentVariables)
		if serr != nil {
			return nil, serr
		}
		r.Type, r.Template = "template", t
	case len(m.Media) > 1:
		return nil, permanent(fmt.Sprintf("WhatsApp carries one attachment per message, not %d", len(m.Media)))
	case len(m.Media) == 1:
		if serr := attach(r, m.Media[0], m.Body); serr != nil {
			return nil, serr
		}
	case m.Body != "":
		r.Type, r.Text = "text", &text{Body: m.Body}
	default:
		return nil, permanent("the message has no body, media or template")
	}
	return r, nil
}

// Media types Meta delivers as themselves; other files go as documents,
// which carry anything.
var mediaKinds = map[string]string{
	"image/jpeg": "image", "image/png": "image",
	"image/webp": "sticker",
	"video/mp4":  "video", "video/3gpp": "video",
	"audio/aac": "audio", "audio/amr": "audio", "audio/mpeg": "audio", "audio/mp4": "audio", "audio/ogg": "audio",
}

// attach sets the media object for one attachment, with body as its
// caption where Meta allows one.
func attach(r *sendRequest, om channels.OutboundMedia, body string) *channels.SendError {
	u, err := url.Parse(om.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return permanent(fmt.Sprintf("media URL %q is not an http(s) URL Meta can fetch", om.URL))
	}
	ct := om.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(u.Path))
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(ct)
	}
	kind, ok := mediaKinds[mt]
	if !ok {
		kind = "document"
	}
	obj := &media{Link: om.URL}
	switch kind {
	case "audio", "sticker":
		if body != "" {
			return permanent(fmt.Sprintf("WhatsApp cannot put text on %s messages (%s); send the text as its own message", kind, mt))
		}
	default:
		obj.Caption = body
	}
	r.Type = kind
	switch kind {
	case "image":
		r.Image = obj
	case "video":
		r.Video = obj
	case "audio":
		r.Audio = obj
	case "sticker":
		r.Sticker = obj
	default:
		obj.Filename = om.Filename
		if obj.Filename == "" {
			if b := path.Base(u.Path); b != "/" && b != "." {
				obj.Filename = b
			}
		}
		r.Document = obj
	}
	return nil
}

// template maps a content template SID and its variables to Meta's template.
func (p *Provider) template(sid, variables string) (*template, *channels.SendError) {
	t, ok := p.templates[sid]
	if !ok || t.Name == "" || t.Language == "" {
		return nil, permanent(fmt.Sprintf("content template %s has no WhatsApp template (name and language) configured for this account", sid))
	}
	params, serr := bodyParameters(variables)
	if serr != nil {
		return nil, serr
	}
	out := &template{Name: t.Name, Language: language{Code: t.Language}}
	if len(params) > 0 {
		out.Components = []component{{Type: "body", Parameters: params}}
	}
	return out, nil
}

// bodyParameters turns ContentVariables into template body parameters:
// numbered variables ({"1": …, "2": …}) in numeric order, with none
// missing, or named ones ({"name": …}) as Meta's named parameters.
func bodyParameters(variables string) ([]parameter, *channels.SendError) {
	if strings.TrimSpace(variables) == "" {
		return nil, nil
	}
	var vars map[string]string
	if err := json.Unmarshal([]byte(variables), &vars); err != nil {
		return nil, permanent("ContentVariables is not a JSON object of strings: " + err.Error())
	}
	numbered := map[int]string{}
	for k, v := range vars {
		if n, err := strconv.Atoi(k); err == nil && n > 0 && strconv.Itoa(n) == k {
			numbered[n] = v
		}
	}
	var params []parameter
	switch len(numbered) {
	case len(vars):
		for i := 1; i <= len(vars); i++ {
			v, ok := numbered[i]
			if !ok {
				return nil, permanent(fmt.Sprintf("ContentVariables has no variable %d; numbered variables run from 1 without gaps", i))
			}
			params = append(params, parameter{Type: "text", Text: v})
		}
	case 0:
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			params = append(params, parameter{Type: "text", ParameterName: k, Text: vars[k]})
		}
	default:
		return nil, permanent("ContentVariables mixes numbered and named variables")
	}
	return params, nil
}

func permanent(msg string) *channels.SendError {
	return &channels.SendError{Permanent: true, Message: msg}
}

// digits keeps the digits of a phone number.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
