package webchat

import (
	"context"
	"io"
	"strings"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/media"
)

// MaxMediaSize is the largest file a guest may upload, as in Flex's web
// channel.
const MaxMediaSize = 16 * media.MB

// MediaLimits are what a webchat message may carry, as in Twilio's webchat:
// one attachment of at most 16 MB, a picture (JPEG, PNG, GIF), a PDF, a
// text file, MP3 or AMR audio, or MP4 video. The chat protocol's handler
// checks webchat guests' messages against them.
func MediaLimits() media.Limits {
	return media.Limits{Channel: "webchat", MaxFiles: 1, MaxFileSize: MaxMediaSize, MaxTotalSize: MaxMediaSize, Types: []string{
		"image/jpeg", "image/jpg", "image/png", "image/gif", "application/pdf", "text/plain",
		"audio/mpeg", "audio/mp3", "audio/amr", "video/mp4",
	}}
}

// UploadParams describe a file a guest uploads.
type UploadParams struct {
	ContentType string
	Filename    string
	// Length is the declared size, or -1 when the body does not say.
	Length int64
	Body   io.Reader
}

// UploadMedia stores a guest's file in the session's service, for a
// message to carry. A type webchat cannot carry is refused (50511) before
// anything is read, and a file over MaxMediaSize (50512) as soon as it
// shows: by its declared length, or once that many bytes have arrived.
// Nothing is kept of a refused file.
func (s *Service) UploadMedia(ctx context.Context, sess Session, p UploadParams) (conversations.Media, error) {
	if err := s.checkOpen(ctx, sess); err != nil {
		return conversations.Media{}, err
	}
	l := MediaLimits()
	if !l.Allows(p.ContentType) {
		return conversations.Media{}, errs.E(errs.Invalid, media.CodeInvalidContentType,
			"Webchat takes JPEG, PNG and GIF pictures, PDF, text, MP3 and AMR audio and MP4 video, not %q", p.ContentType)
	}
	if p.Length > l.MaxFileSize {
		return conversations.Media{}, media.TooLarge(l.MaxFileSize)
	}
	body := &capped{r: p.Body, left: l.MaxFileSize, err: media.TooLarge(l.MaxFileSize)}
	return s.media.Save(ctx, sess.ServiceSid, p.ContentType, strings.TrimSpace(p.Filename), sess.Identity, body)
}

// capped reads at most left bytes from r and fails with err, rather than
// truncating, when r has more.
type capped struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// At the cap: one more byte means too large, EOF means exactly full.
		var one [1]byte
		if n, err := c.r.Read(one[:]); n > 0 {
			return 0, c.err
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// CheckMessageMedia applies MediaLimits' file count to a message a chat
// client sends: guests may attach one file (each upload was checked for type
// and size already); other identities are not webchat's to limit.
func (s *Service) CheckMessageMedia(ctx context.Context, identity, serviceSid string, mediaSids []string) error {
	if len(mediaSids) <= 1 {
		return nil
	}
	if _, err := s.Session(ctx, identity, serviceSid); errs.KindOf(err) == errs.NotFound {
		return nil
	} else if err != nil {
		return err
	}
	l := MediaLimits()
	return errs.E(errs.Invalid, media.CodeTooManyFiles, "A webchat message can carry at most %d attachment, not %d", l.MaxFiles, len(mediaSids))
}
