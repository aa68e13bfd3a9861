package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// maxInboundMedia bounds one inbound attachment as fetched from a carrier:
// WhatsApp's 16 MB is the largest any carrier delivers.
const maxInboundMedia = 16 << 20

// inboundRecord is the deduplication row of a carrier message.
type inboundRecord struct {
	ProviderSid string `gorm:"primaryKey"`
	ExternalID  string `gorm:"primaryKey;column:external_id"`
	MessageSid  string
	DateCreated time.Time
}

func (inboundRecord) TableName() string { return "channel_inbound" }

// Webhook handles a carrier's request to a provider account's webhook:
// verified and parsed by the provider, inbound messages appended to their
// conversations (each once, however often the carrier retries), statuses
// recorded on the deliveries they name. It returns the reply the carrier
// expects.
func (s *Service) Webhook(ctx context.Context, providerSid string, r Request) (*Reply, error) {
	p, a, err := s.provider(ctx, providerSid)
	if err != nil {
		return nil, err
	}
	b, err := p.Parse(r)
	if errors.Is(err, ErrUnauthorized) {
		return nil, errs.E(errs.Unauthorized, errs.CodeAuth, "The webhook signature does not match provider %s's credentials", a.Sid)
	}
	if err != nil {
		return nil, err
	}
	for _, in := range b.Messages {
		if err := s.receive(ctx, a, in); err != nil {
			return nil, err
		}
	}
	for _, st := range b.Statuses {
		if err := s.status(ctx, a.Sid, st); err != nil {
			return nil, err
		}
	}
	return b.Reply, nil
}

// inboundJob is the payload of a message whose media must be fetched first.
type inboundJob struct {
	ProviderSid string  `json:"provider_sid"`
	Message     Inbound `json:"message"`
}

// receive appends one inbound message. Media are fetched by a durable job,
// so the carrier gets its answer at once and a slow or failing media host
// delays the message rather than losing it.
func (s *Service) receive(ctx context.Context, a ProviderAccount, in Inbound) error {
	snd, ok, err := s.sender(ctx, in.To)
	if err != nil {
		return err
	}
	if !ok || snd.ProviderSid != a.Sid {
		return errs.NotFoundf("%s is not a sender of provider %s; add it under /v1/Channels/Senders", in.To, a.Sid)
	}
	if in.ExternalID == "" {
		return errs.Invalidf("the carrier's message has no id")
	}
	if len(in.Media) == 0 {
		// A carrier's retry of a message already stored collides with its
		// deduplication row and is rolled back: no read needed first.
		return s.appendInbound(ctx, a.Sid, in, nil)
	}
	var seen int64
	if err := s.read(ctx).Model(&inboundRecord{}).Where("provider_sid = ? AND external_id = ?", a.Sid, in.ExternalID).
		Count(&seen).Error; err != nil || seen > 0 {
		return errs.Wrap(err, "inbound")
	}
	payload, err := json.Marshal(inboundJob{ProviderSid: a.Sid, Message: in})
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := tx.Create(&inboundRecord{ProviderSid: a.Sid, ExternalID: in.ExternalID, DateCreated: s.opts.Now()}).Error; err != nil {
			return err
		}
		return jobs.Enqueue(tx, jobInbound, string(payload), s.opts.Now())
	})
	if db.IsUniqueViolation(err) {
		return nil // the carrier's retry raced its first delivery
	}
	return errs.Wrap(err, "inbound")
}

// runInbound fetches an inbound message's media into the media store and
// appends the message.
func (s *Service) runInbound(ctx context.Context, payload string) error {
	var j inboundJob
	if err := json.Unmarshal([]byte(payload), &j); err != nil {
		return jobs.Permanent(err)
	}
	p, _, err := s.provider(ctx, j.ProviderSid)
	if err != nil {
		return err
	}
	in := j.Message
	serviceSid, err := s.conv.InboundServiceSid(ctx, in.From, in.To)
	if err != nil {
		return err
	}
	var sids []string
	for i, m := range in.Media {
		media, err := s.fetchMedia(ctx, p, serviceSid, in, i, m)
		if k := errs.KindOf(err); errors.Is(err, errInboundTooLarge) || k == errs.Invalid || k == errs.TooLarge {
			// No retry can make it fit: the message still arrives, without
			// this attachment, rather than not at all.
			s.log.Warn("inbound attachment dropped", "id", in.ExternalID, "media", i, "err", err)
			continue
		}
		if err != nil {
			return err
		}
		sids = append(sids, media.Sid)
	}
	return s.appendInbound(ctx, j.ProviderSid, in, sids)
}

// errInboundTooLarge is an attachment over maxInboundMedia.
var errInboundTooLarge = fmt.Errorf("larger than %d bytes", maxInboundMedia)

// capReader fails, rather than truncating, once more than left bytes came,
// so that nothing of an oversized attachment is stored.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return 0, errInboundTooLarge
	}
	return n, err
}

func (s *Service) fetchMedia(ctx context.Context, p Provider, serviceSid string, in Inbound, i int, m InboundMedia) (conversations.Media, error) {
	body, contentType, err := p.FetchMedia(ctx, m.URL)
	if err != nil {
		return conversations.Media{}, fmt.Errorf("fetching media %d of %s: %w", i, in.ExternalID, err)
	}
	defer body.Close()
	if contentType == "" {
		contentType = m.ContentType
	}
	filename := m.Filename
	if filename == "" {
		filename = fmt.Sprintf("%s-%d", in.ExternalID, i)
	}
	media, err := s.media.Save(ctx, serviceSid, contentType, filename, in.From, &capReader{r: body, left: maxInboundMedia})
	if err != nil {
		return media, fmt.Errorf("media %d of %s: %w", i, in.ExternalID, err)
	}
	return media, nil
}

// appendInbound writes the message and its deduplication row in one
// transaction, and notes the customer's last message for WhatsApp's window.
func (s *Service) appendInbound(ctx context.Context, providerSid string, in Inbound, mediaSids []string) error {
	mp := conversations.MessageParams{MediaSids: mediaSids, Source: in.Source}
	if in.Body != "" {
		mp.Body = &in.Body
	}
	if len(in.Attributes) > 0 {
		raw, err := json.Marshal(in.Attributes)
		if err != nil {
			return err
		}
		// Carrier extras are a courtesy: past the attribute limit they are
		// dropped rather than the message.
		if len(raw) <= conversations.MaxMessageAttrs {
			attrs := string(raw)
			mp.Attributes = &attrs
		}
	}
	now := s.opts.Now()
	_, _, err := s.conv.Receive(ctx, conversations.InboundParams{Address: in.From, ProxyAddress: in.To, ProfileName: in.ProfileName,
		Message: mp, Within: func(tx *db.Tx, c conversations.Conversation, m conversations.Message) error {
			if len(mediaSids) > 0 {
				res := tx.Model(&inboundRecord{}).Where("provider_sid = ? AND external_id = ? AND message_sid = ''", providerSid, in.ExternalID).
					Update("message_sid", m.Sid)
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected == 0 {
					return errDuplicate
				}
			} else if err := tx.Create(&inboundRecord{ProviderSid: providerSid, ExternalID: in.ExternalID, MessageSid: m.Sid, DateCreated: now}).Error; err != nil {
				return err
			}
			return tx.Exec(`INSERT INTO channel_contacts (address, proxy_address, last_inbound_at) VALUES (?, ?, ?)
				ON CONFLICT (address, proxy_address) DO UPDATE SET last_inbound_at = excluded.last_inbound_at`, in.From, in.To, now).Error
		}})
	if errors.Is(err, errDuplicate) || db.IsUniqueViolation(err) {
		return nil
	}
	if errs.KindOf(err) == errs.Forbidden {
		// The account's pre-event webhook refused the message: that is its
		// decision, not a failure for the carrier to retry.
		s.log.Info("inbound message refused by the pre-event webhook", "from", in.From, "to", in.To, "id", in.ExternalID, "err", err)
		return nil
	}
	return err
}

// errDuplicate rolls back a message the carrier delivered twice.
var errDuplicate = errors.New("duplicate inbound message")
