package media

import (
	"mime"
	"slices"
	"strings"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Twilio error codes for media.
const (
	CodeInvalidSid         = 50510 // a MediaSid that is not an ME… SID
	CodeInvalidContentType = 50511 // a content type the upload or the channel cannot take
	CodeTooLarge           = 50512 // over the 150 MB any media may have
	CodeTooManyFiles       = 21623 // more attachments than the channel carries
	CodeOverProviderLimit  = 11751 // over the carrier's size limit (MMS 5 MB, WhatsApp 16 MB)
)

// MB is a megabyte as Twilio counts media sizes.
const MB = 1 << 20

// MaxSize is the largest media Conversations accepts (chat to chat).
const MaxSize = 150 * MB

// Limits are what one channel can carry in one message.
type Limits struct {
	Channel      string
	MaxFiles     int      // attachments per message; 0: no limit
	MaxFileSize  int64    // bytes per attachment
	MaxTotalSize int64    // bytes per message; 0: no limit beyond MaxFileSize each
	Types        []string // media types (no parameters) it delivers; nil: any
}

// Allows reports whether the channel delivers the content type.
func (l Limits) Allows(contentType string) bool {
	if l.Types == nil {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && slices.Contains(l.Types, mt)
}

// smsTypes are what Conversations delivers from chat to SMS (MMS), with
// the non-standard names clients commonly send for JPEG and MP3.
var smsTypes = []string{
	"image/jpeg", "image/jpg", "image/png", "image/gif",
	"audio/mpeg", "audio/mp3", "audio/amr", "video/mp4", "application/pdf",
}

// whatsAppTypes are the media WhatsApp delivers as images, audio, video and
// documents.
var whatsAppTypes = []string{
	"image/jpeg", "image/png",
	"audio/aac", "audio/amr", "audio/mp4", "audio/mpeg", "audio/ogg",
	"video/mp4", "video/3gpp",
	"application/pdf", "text/plain",
	"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

// LimitsFor returns the limits of a channel as Conversations names it
// (sms, whatsapp, chat, email, messenger, gbm…). SMS and WhatsApp follow the
// carriers (error 11751: MMS 5 MB in all, WhatsApp 16 MB); email, Messenger
// and Google Business Messages follow Flex's attachment limits. A channel
// with no documented limits gets chat's: any type up to MaxSize.
func LimitsFor(channel string) Limits {
	switch ch := strings.ToLower(channel); ch {
	case "sms":
		return Limits{Channel: ch, MaxFiles: 10, MaxFileSize: 5 * MB, MaxTotalSize: 5 * MB, Types: smsTypes}
	case "whatsapp":
		return Limits{Channel: ch, MaxFiles: 1, MaxFileSize: 16 * MB, MaxTotalSize: 16 * MB, Types: whatsAppTypes}
	case "email":
		return Limits{Channel: ch, MaxFiles: 10, MaxFileSize: MaxSize, MaxTotalSize: MaxSize}
	case "messenger":
		return Limits{Channel: ch, MaxFiles: 1, MaxFileSize: 25 * MB, MaxTotalSize: 25 * MB}
	case "gbm":
		return Limits{Channel: ch, MaxFiles: 1, MaxFileSize: 5 * MB, MaxTotalSize: 5 * MB}
	default:
		return Limits{Channel: ch, MaxFileSize: MaxSize}
	}
}

// Check reports whether a message's media can go out over channel: too
// many attachments (21623), a type the channel cannot carry (50511), or
// more bytes than its carrier takes (11751).
func (s *Service) Check(channel string, media []conversations.Media) error {
	l := LimitsFor(channel)
	if l.MaxFiles > 0 && len(media) > l.MaxFiles {
		return errs.E(errs.Invalid, CodeTooManyFiles, "A %s message can carry at most %d media, not %d", l.Channel, l.MaxFiles, len(media))
	}
	var total int64
	for _, m := range media {
		if !l.Allows(m.ContentType) {
			return errs.E(errs.Invalid, CodeInvalidContentType, "Media %s has content type %s, which %s cannot carry", m.Sid, m.ContentType, l.Channel)
		}
		if m.Size > l.MaxFileSize {
			return errs.E(errs.TooLarge, CodeOverProviderLimit,
				"Media %s is %d bytes; %s media must be at most %d MB", m.Sid, m.Size, l.Channel, l.MaxFileSize/MB)
		}
		total += m.Size
	}
	if l.MaxTotalSize > 0 && total > l.MaxTotalSize {
		return errs.E(errs.TooLarge, CodeOverProviderLimit,
			"The message's media total %d bytes; a %s message carries at most %d MB", total, l.Channel, l.MaxTotalSize/MB)
	}
	return nil
}
