package twiliomsg

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// maxMedia is the most attachments Twilio puts on one message.
const maxMedia = 10

// emptyTwiML answers an inbound message without replying to the customer:
// replies go out through the API once an agent writes.
var emptyTwiML = channels.Reply{
	ContentType: "text/xml",
	Body:        []byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`),
}

// statuses maps Twilio's final message statuses to ours; the others
// (queued, accepted, sending, scheduled, receiving, canceled…) are interim
// or ours to ignore.
var statuses = map[string]string{
	"sent":        channels.StatusSent,
	"delivered":   channels.StatusDelivered,
	"read":        channels.StatusRead,
	"failed":      channels.StatusFailed,
	"undelivered": channels.StatusUndelivered,
}

// attributeParams are the inbound parameters kept on the message as
// attributes, under the same names, when Twilio sends them.
var attributeParams = []string{
	"FromCity", "FromState", "FromZip", "FromCountry",
	"ToCity", "ToState", "ToZip", "ToCountry",
	"WaId", "Latitude", "Longitude", "Address", "Label",
	"ButtonText", "ButtonPayload", "Forwarded", "FrequentlyForwarded",
	"ReferralCtwaClid", "OriginalRepliedMessageSid", "MessageType",
	"NumSegments", "MessagingServiceSid",
}

// Parse verifies and reads a Twilio webhook: an inbound message (answered
// with empty TwiML) or a status callback (MessageStatus set; our delivery's
// reference is the ref query parameter of the callback URL we registered).
//
// The signature must cover everything received: the full URL (query
// included) and every form parameter, known or not. twilio-go's validator
// takes one value per name, so a form repeating a name cannot be verified
// and is refused as unauthorized.
func (p *Provider) Parse(r channels.Request) (channels.Batch, error) {
	u, err := url.Parse(r.URL)
	if err != nil || !u.IsAbs() {
		return channels.Batch{}, errs.Invalidf("the webhook URL %q is not an absolute URL", r.URL)
	}
	var params url.Values
	signed := map[string]string{}
	switch r.Method {
	case http.MethodPost:
		if params, err = url.ParseQuery(string(r.Body)); err != nil {
			return channels.Batch{}, errs.Invalidf("the webhook body is not a form: %v", err)
		}
		for k, vs := range params {
			if len(vs) > 1 {
				return channels.Batch{}, fmt.Errorf("%w: parameter %q is repeated", channels.ErrUnauthorized, k)
			}
			signed[k] = vs[0]
		}
	case http.MethodGet:
		params = u.Query() // part of the signed URL
	default:
		return channels.Batch{}, errs.Invalidf("Twilio webhooks are POST or GET, not %s", r.Method)
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" || !p.validator.Validate(r.URL, signed, sig) {
		return channels.Batch{}, channels.ErrUnauthorized
	}
	for k, vs := range params {
		if !text(k) || slices.ContainsFunc(vs, func(v string) bool { return !text(v) }) {
			return channels.Batch{}, errs.Invalidf("parameter %q is not valid text", k)
		}
	}
	if params.Has("MessageStatus") {
		st, ok, err := parseStatus(params, u.Query().Get("ref"))
		if err != nil || !ok {
			return channels.Batch{}, err
		}
		return channels.Batch{Statuses: []channels.Status{st}}, nil
	}
	in, err := parseInbound(params)
	if err != nil {
		return channels.Batch{}, err
	}
	reply := emptyTwiML
	return channels.Batch{Messages: []channels.Inbound{in}, Reply: &reply}, nil
}

// parseStatus reads a status callback; ok is false for statuses we ignore.
func parseStatus(params url.Values, ref string) (channels.Status, bool, error) {
	st := channels.Status{Ref: ref, ExternalID: messageSid(params)}
	switch {
	case st.ExternalID == "":
		return st, false, errs.Invalidf("the status callback has no MessageSid")
	case !text(ref):
		return st, false, errs.Invalidf("the status callback's ref is not valid text")
	}
	var ok bool
	if st.Status, ok = statuses[strings.ToLower(params.Get("MessageStatus"))]; !ok {
		return st, false, nil
	}
	if code := params.Get("ErrorCode"); code != "" {
		n, err := strconv.Atoi(code)
		if err != nil || n < 0 {
			return st, false, errs.Invalidf("ErrorCode %q is not a Twilio error code", code)
		}
		st.ErrorCode = n
	}
	if st.ErrorCode != 0 || st.Status == channels.StatusFailed || st.Status == channels.StatusUndelivered {
		// Twilio's status callbacks carry no error text except WhatsApp's.
		st.Error = cmp.Or(params.Get("ErrorMessage"), params.Get("ChannelStatusMessage"))
	}
	return st, true, nil
}

func parseInbound(params url.Values) (channels.Inbound, error) {
	in := channels.Inbound{
		ExternalID:  messageSid(params),
		From:        params.Get("From"),
		To:          params.Get("To"),
		Body:        params.Get("Body"),
		ProfileName: params.Get("ProfileName"),
		Source:      channels.SourceSMS,
	}
	switch {
	case in.ExternalID == "":
		return in, errs.Invalidf("the message has no MessageSid")
	case in.From == "":
		return in, errs.Invalidf("the message has no From")
	case in.To == "":
		return in, errs.Invalidf("the message has no To")
	}
	if wa := strings.HasPrefix(in.From, "whatsapp:"); wa != strings.HasPrefix(in.To, "whatsapp:") {
		return in, errs.Invalidf("From %q and To %q are on different channels", in.From, in.To)
	} else if wa {
		in.Source = channels.SourceWhatsApp
	}
	media, err := parseMedia(params)
	if err != nil {
		return in, err
	}
	in.Media = media
	for _, k := range attributeParams {
		if params.Has(k) {
			if in.Attributes == nil {
				in.Attributes = map[string]any{}
			}
			in.Attributes[k] = params.Get(k)
		}
	}
	return in, nil
}

// parseMedia reads MediaUrl{N} and MediaContentType{N} for N below NumMedia,
// and refuses media parameters NumMedia does not account for.
func parseMedia(params url.Values) ([]channels.InboundMedia, error) {
	n := 0
	if s := params.Get("NumMedia"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 0 || n > maxMedia {
			return nil, errs.Invalidf("NumMedia %q is not a number from 0 to %d", s, maxMedia)
		}
	}
	for k := range params {
		for _, prefix := range []string{"MediaUrl", "MediaContentType"} {
			i, ok := mediaIndex(k, prefix)
			if ok && (i < 0 || i >= n) {
				return nil, errs.Invalidf("%s does not fit NumMedia %d", k, n)
			}
		}
	}
	var media []channels.InboundMedia
	for i := range n {
		raw := params.Get("MediaUrl" + strconv.Itoa(i))
		u, err := url.Parse(raw)
		if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errs.Invalidf("MediaUrl%d %q is not an http(s) URL", i, raw)
		}
		media = append(media, channels.InboundMedia{URL: raw, ContentType: params.Get("MediaContentType" + strconv.Itoa(i))})
	}
	return media, nil
}

// mediaIndex reads N from a parameter named prefix+N; i is -1 for a
// non-canonical number (MediaUrl01), which no N matches.
func mediaIndex(name, prefix string) (i int, ok bool) {
	digits, found := strings.CutPrefix(name, prefix)
	if !found || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	if err != nil || strconv.Itoa(i) != digits {
		return -1, true
	}
	return i, true
}

// text reports whether s can be stored as text: UTF-8 without NUL, which
// Postgres refuses.
func text(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// messageSid is the message's id; SmsMessageSid and SmsSid are its older names.
func messageSid(params url.Values) string {
	return cmp.Or(params.Get("MessageSid"), params.Get("SmsMessageSid"), params.Get("SmsSid"))
}
