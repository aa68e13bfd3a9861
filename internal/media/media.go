// Package media is Twilio's Media Content Service for conversations:
// uploaded files (ME…) kept in a Store, linked to the message that carries
// them, served to authorized callers and through expiring signed URLs
// (carriers fetching outbound media), and checked against what each
// channel can carry.
package media

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Lengths of the descriptive fields.
const (
	MaxFilename = 256
	MaxAuthor   = conversations.MaxIdentity
)

// Media is one uploaded file (ME…). ConversationSid and MessageSid are nil
// until a message claims it.
type Media struct {
	Sid             string `gorm:"primaryKey"`
	ServiceSid      string
	ContentType     string
	Filename        string
	Size            int64
	Author          string
	ConversationSid *string
	MessageSid      *string
	DateCreated     time.Time
	DateUpdated     time.Time
}

// TableName keeps GORM from guessing a plural of "media".
func (Media) TableName() string { return "media" }

// Service stores, links and serves media. It implements
// conversations.MediaLinker.
type Service struct {
	db      *db.DB
	store   Store
	signKey []byte
	now     func() time.Time
	maxSize int64
}

// New returns the media service over d keeping bytes in store. signKey
// signs public media URLs (at least 32 random bytes, kept across restarts
// and shared by every node); now is the clock (nil: the system clock).
func New(d *db.DB, store Store, signKey []byte, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, store: store, signKey: signKey, now: now, maxSize: MaxSize}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// errOverCap is what the capped reader returns past the size cap.
var errOverCap = errors.New("media: over the size cap")

// capped reads at most left bytes from r and fails, rather than truncating,
// when r has more.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// At the cap: one more byte means too large, EOF means exactly full.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errOverCap
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// parseContentType checks a media content type (type/subtype, optional
// parameters) and returns it normalised.
func parseContentType(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	typ, sub, ok := strings.Cut(mt, "/")
	if contentType == "" || err != nil || !ok || typ == "" || sub == "" || strings.Contains(sub, "/") {
		return "", errs.E(errs.Invalid, CodeInvalidContentType,
			"Media needs a valid content type such as image/jpeg, not %q", contentType)
	}
	if normal := mime.FormatMediaType(mt, params); normal != "" {
		return normal, nil
	}
	return mt, nil
}

// TooLarge is the error for media over the size cap (50512).
func TooLarge(max int64) error {
	return errs.E(errs.TooLarge, CodeTooLarge, "Media must be at most %d MB", max/MB)
}

// Save stores body as new media of the service, up to 150 MB, and
// describes it as a message would; Get has the whole record. A bad content
// type stores nothing; a body over the cap, empty, or failing to be recorded
// leaves nothing behind.
func (s *Service) Save(ctx context.Context, serviceSid, contentType, filename, author string, body io.Reader) (conversations.Media, error) {
	m, err := s.save(ctx, serviceSid, contentType, filename, author, body)
	if err != nil {
		return conversations.Media{}, err
	}
	return m.describe(), nil
}

// describe is the media as a message lists it.
func (m Media) describe() conversations.Media {
	return conversations.Media{Sid: m.Sid, Size: m.Size, ContentType: m.ContentType, Filename: m.Filename}
}

func (s *Service) save(ctx context.Context, serviceSid, contentType, filename, author string, body io.Reader) (Media, error) {
	ct, err := parseContentType(contentType)
	if err != nil {
		return Media{}, err
	}
	if len(filename) > MaxFilename {
		return Media{}, errs.Invalidf("Filename must be at most %d bytes", MaxFilename)
	}
	if author == "" {
		author = "system"
	}
	if len(author) > MaxAuthor {
		return Media{}, errs.Invalidf("Author must be at most %d bytes", MaxAuthor)
	}
	// Checked before the upload, so a bad service costs no bytes; media of
	// a service deleted meanwhile is unreachable, as its conversations are.
	var n int64
	if err := s.db.Gorm.WithContext(ctx).Model(&conversations.Service{}).Where("sid = ?", serviceSid).Count(&n).Error; err != nil {
		return Media{}, errs.Wrap(err, "media service")
	}
	if n == 0 {
		return Media{}, errs.NotFoundf("The requested resource /Services/%s was not found", serviceSid)
	}
	m := Media{Sid: sid.New(sid.Media), ServiceSid: serviceSid, ContentType: ct, Filename: filename, Author: author}
	m.Size, err = s.store.Put(ctx, m.Sid, &capped{r: body, left: s.maxSize})
	if errors.Is(err, errOverCap) {
		return Media{}, TooLarge(s.maxSize)
	}
	if err != nil {
		return Media{}, errs.Wrap(err, "media upload")
	}
	if m.Size == 0 {
		return Media{}, errors.Join(errs.Invalidf("Media content is empty"), s.store.Delete(ctx, m.Sid))
	}
	m.DateCreated = s.clock()
	m.DateUpdated = m.DateCreated
	if err := s.db.Gorm.WithContext(ctx).Create(&m).Error; err != nil {
		// The row is the only way to reach the bytes: without it they go.
		return Media{}, errors.Join(errs.Wrap(err, "media row"), s.store.Delete(context.WithoutCancel(ctx), m.Sid))
	}
	return m, nil
}

func notFound(serviceSid, mediaSid string) error {
	return errs.NotFoundf("The requested resource /Services/%s/Media/%s was not found", serviceSid, mediaSid)
}

// Get returns the service's media by SID.
func (s *Service) Get(ctx context.Context, serviceSid, mediaSid string) (Media, error) {
	var m Media
	res := s.db.Gorm.WithContext(ctx).Where("sid = ? AND service_sid = ?", mediaSid, serviceSid).Limit(1).Find(&m)
	if res.Error != nil {
		return m, errs.Wrap(res.Error, "media")
	}
	if res.RowsAffected == 0 {
		return m, notFound(serviceSid, mediaSid)
	}
	return m, nil
}

// Content returns the service's media and its bytes; the caller closes them.
func (s *Service) Content(ctx context.Context, serviceSid, mediaSid string) (Media, io.ReadCloser, error) {
	m, err := s.Get(ctx, serviceSid, mediaSid)
	if err != nil {
		return m, nil, err
	}
	rc, err := s.store.Open(ctx, m.Sid)
	if err != nil {
		return m, nil, errs.Wrap(err, "media content")
	}
	return m, rc, nil
}

// Delete removes media that no message carries yet; a message's media
// stays as long as the message.
func (s *Service) Delete(ctx context.Context, serviceSid, mediaSid string) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		var m Media
		res := tx.Locked("UPDATE").Where("sid = ? AND service_sid = ?", mediaSid, serviceSid).Limit(1).Find(&m)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound(serviceSid, mediaSid)
		}
		if m.MessageSid != nil {
			return errs.Invalidf("Media %s belongs to message %s and cannot be deleted", m.Sid, *m.MessageSid)
		}
		if err := tx.Delete(&m).Error; err != nil {
			return err
		}
		// Removing the bytes inside the transaction keeps row and file
		// together: if the removal fails, the row stays.
		return s.store.Delete(ctx, m.Sid)
	})
}

// LinkMedia claims unlinked media of the service for a new message, in the
// message's transaction, and describes them in the order given.
func (s *Service) LinkMedia(tx *db.Tx, serviceSid, conversationSid, messageSid string, mediaSids []string) ([]conversations.Media, error) {
	if len(mediaSids) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(mediaSids))
	for _, ms := range mediaSids {
		if !sid.Is(ms, sid.Media) {
			return nil, errs.E(errs.Invalid, CodeInvalidSid, "MediaSid %q is not a media SID (ME…)", ms)
		}
		if seen[ms] {
			return nil, errs.Invalidf("Media %s is attached twice", ms)
		}
		seen[ms] = true
	}
	var rows []Media
	if err := tx.Locked("UPDATE").Where("sid IN ? AND service_sid = ?", mediaSids, serviceSid).Find(&rows).Error; err != nil {
		return nil, err
	}
	bySid := make(map[string]Media, len(rows))
	for _, m := range rows {
		bySid[m.Sid] = m
	}
	out := make([]conversations.Media, len(mediaSids))
	for i, ms := range mediaSids {
		m, ok := bySid[ms]
		if !ok {
			return nil, notFound(serviceSid, ms)
		}
		if m.MessageSid != nil {
			return nil, errs.Invalidf("Media %s is already attached to message %s; upload it again to send it twice", ms, *m.MessageSid)
		}
		out[i] = m.describe()
	}
	res := tx.Model(&Media{}).Where("sid IN ? AND message_sid IS NULL", mediaSids).
		Updates(map[string]any{"conversation_sid": conversationSid, "message_sid": messageSid, "date_updated": s.clock()})
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected != int64(len(mediaSids)) {
		return nil, fmt.Errorf("media: linked %d of %d media", res.RowsAffected, len(mediaSids))
	}
	return out, nil
}

// SignedURL returns the path of a public URL for the media's content that
// works without credentials until ttl has passed:
// /media/ME…?Expires=<unix seconds>&Signature=<HMAC-SHA256, base64url>.
func (s *Service) SignedURL(mediaSid string, ttl time.Duration) string {
	expires := strconv.FormatInt(s.now().Add(ttl).Unix(), 10)
	return "/media/" + mediaSid + "?Expires=" + expires + "&Signature=" + s.signature(mediaSid, expires)
}

func (s *Service) signature(mediaSid, expires string) string {
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(mediaSid + "\n" + expires))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// VerifySigned checks a signed URL's expiry and signature.
func (s *Service) VerifySigned(mediaSid, expires, signature string) error {
	forbidden := errs.E(errs.Forbidden, errs.CodeForbidden, "The media URL is invalid or has expired")
	at, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !hmac.Equal([]byte(signature), []byte(s.signature(mediaSid, expires))) {
		return forbidden
	}
	if !s.now().Before(time.Unix(at, 0)) {
		return forbidden
	}
	return nil
}

// SignedContent serves a signed URL: the media and its bytes when the
// signature holds and has not expired.
func (s *Service) SignedContent(ctx context.Context, mediaSid, expires, signature string) (Media, io.ReadCloser, error) {
	if err := s.VerifySigned(mediaSid, expires, signature); err != nil {
		return Media{}, nil, err
	}
	var m Media
	res := s.db.Gorm.WithContext(ctx).Where("sid = ?", mediaSid).Limit(1).Find(&m)
	if res.Error != nil {
		return m, nil, errs.Wrap(res.Error, "media")
	}
	if res.RowsAffected == 0 {
		return m, nil, errs.NotFoundf("The requested resource /media/%s was not found", mediaSid)
	}
	rc, err := s.store.Open(ctx, m.Sid)
	if err != nil {
		return m, nil, errs.Wrap(err, "media content")
	}
	return m, rc, nil
}
