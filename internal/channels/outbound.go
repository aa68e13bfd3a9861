package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Twilio error codes of the outbound path.
const (
	// CodeBodyTooLong: an SMS or WhatsApp body over 1600 characters.
	CodeBodyTooLong = 21617
	// CodeOutsideWindow: a free-form WhatsApp message more than 24 hours
	// after the customer last wrote.
	CodeOutsideWindow = 63016
	// CodeNoSender: the proxy address is not one of our configured senders.
	CodeNoSender = 21606
	// CodeGaveUp: the carrier stayed unreachable through every retry.
	CodeGaveUp = 30001
)

// MaxOutboundBody is the longest body SMS and WhatsApp carry.
const MaxOutboundBody = 1600

// WhatsAppWindow is how long after a customer's last message free-form
// WhatsApp messages are allowed; after it only templates are.
const WhatsAppWindow = 24 * time.Hour

// Delivery states.
const (
	stateQueued  = "pending"
	stateSending = "sending" // an attempt is under way, or was cut off before its outcome was recorded
	stateSent    = "sent"
	stateFailed  = "failed"
)

// delivery is one message to one non-chat participant: the ledger row that
// makes sending exactly-once.
type delivery struct {
	Sid             string `gorm:"primaryKey"`
	ServiceSid      string
	MessageSid      string
	ParticipantSid  string
	ConversationSid string
	ProviderSid     string
	FromAddress     string
	ToAddress       string
	State           string
	Attempts        int
	ExternalID      *string `gorm:"column:external_id"`
	ErrorCode       int
	ErrorMessage    string
	DateSending     *time.Time
	DateCreated     time.Time
	DateUpdated     time.Time
}

func (delivery) TableName() string { return "channel_deliveries" }

// onMessage runs in the transaction that adds a message: it checks the
// message can go to every SMS and WhatsApp participant (length, media,
// WhatsApp's window) and writes one delivery and its job per participant, so
// the message and its deliveries commit together or not at all.
func (s *Service) onMessage(tx *db.Tx, c conversations.Conversation, m conversations.Message) error {
	parts, err := s.conv.ParticipantsTx(tx, c.Sid)
	if err != nil {
		return err
	}
	var media []conversations.Media
	now := s.opts.Now()
	for _, p := range parts {
		if p.IsChat() || p.ProxyAddress == nil || (m.ParticipantSid != nil && *m.ParticipantSid == p.Sid) {
			continue
		}
		if media == nil && m.Media != nil {
			if err := json.Unmarshal([]byte(*m.Media), &media); err != nil {
				return err
			}
		}
		if err := s.checkOutbound(tx, p, m, media, now); err != nil {
			return err
		}
		d := delivery{Sid: sid.New(sid.ChannelDelivery), ServiceSid: c.ServiceSid, MessageSid: m.Sid, ParticipantSid: p.Sid,
			ConversationSid: c.Sid, FromAddress: *p.ProxyAddress, ToAddress: *p.Address, State: stateQueued,
			DateCreated: now, DateUpdated: now}
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		if err := jobs.Enqueue(tx, jobDeliver, d.Sid, now); err != nil {
			return err
		}
	}
	return nil
}

// checkOutbound refuses a message the participant's channel cannot carry,
// with Twilio's codes, before anything is written.
func (s *Service) checkOutbound(tx *db.Tx, p conversations.Participant, m conversations.Message, media []conversations.Media, now time.Time) error {
	if m.Body != nil && utf8.RuneCountInString(*m.Body) > MaxOutboundBody {
		return errs.E(errs.TooLarge, CodeBodyTooLong, "The message body is %d characters; SMS and WhatsApp carry at most %d",
			utf8.RuneCountInString(*m.Body), MaxOutboundBody)
	}
	if len(media) > 0 {
		if err := s.media.Check(p.ChannelType, media); err != nil {
			return err
		}
	}
	if p.ChannelType != "whatsapp" || m.ContentSid != nil {
		return nil
	}
	var snd Sender
	res := tx.Where("address = ?", *p.ProxyAddress).Limit(1).Find(&snd)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error // not our sender: the delivery will fail and say why
	}
	var last []time.Time
	if err := tx.Raw(`SELECT last_inbound_at FROM channel_contacts WHERE address = ? AND proxy_address = ?`,
		*p.Address, *p.ProxyAddress).Scan(&last).Error; err != nil {
		return err
	}
	if len(last) == 0 || now.Sub(last[0]) > WhatsAppWindow {
		return errs.E(errs.Conflict, CodeOutsideWindow,
			"%s last wrote more than 24 hours ago (or never): WhatsApp allows only template messages (ContentSid) outside the 24-hour window", *p.Address)
	}
	return nil
}

// runDeliver sends one delivery. Before the carrier sees anything the
// attempt is recorded as "sending"; a run that finds it still "sending" knows
// an earlier attempt was cut off (a crash, a lost response) and asks the
// carrier — or waits for a status callback naming it — instead of sending
// blindly again.
func (s *Service) runDeliver(ctx context.Context, deliverySid string) error {
	var d delivery
	res := s.read(ctx).Where("sid = ?", deliverySid).Limit(1).Find(&d)
	if res.Error != nil {
		return res.Error
	}
	switch {
	case res.RowsAffected == 0 || d.State == stateFailed:
		return nil
	case d.State == stateSent:
		return s.recordSent(ctx, d) // the receipt may be what was missing
	}
	snd, ok, err := s.sender(ctx, d.FromAddress)
	if err != nil {
		return err
	}
	if !ok {
		return s.fail(ctx, d, CodeNoSender, d.FromAddress+" is not one of this account's senders")
	}
	p, a, err := s.provider(ctx, snd.ProviderSid)
	if err != nil {
		return err
	}
	out, err := s.outbound(ctx, d, snd)
	if errs.KindOf(err) == errs.NotFound {
		return s.fail(ctx, d, 0, "the message was removed before it was sent")
	}
	if err != nil {
		return err
	}
	if d.State == stateSending {
		if done, err := s.reconcile(ctx, p, a, d, out); done || err != nil {
			return err
		}
	}
	if d.Attempts >= s.opts.MaxAttempts {
		return s.fail(ctx, d, CodeGaveUp, fmt.Sprintf("gave up after %d attempts: %s", d.Attempts, d.ErrorMessage))
	}
	if wait := s.limits(snd).reserve(len(out.Media) > 0, time.Second); wait > 0 {
		if wait > time.Second {
			return jobs.Later(s.opts.Now().Add(wait))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := s.opts.Now()
	// The attempt count makes the claim exclusive: another runner settling
	// the same attempt in doubt sees the same state, but not the same count
	// once one of them has claimed the next attempt.
	res = s.read(ctx).Model(&delivery{}).Where("sid = ? AND state = ? AND attempts = ?", d.Sid, d.State, d.Attempts).
		Updates(map[string]any{"state": stateSending, "attempts": d.Attempts + 1, "provider_sid": a.Sid, "date_sending": now, "date_updated": now})
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error // a status callback or another runner got there first
	}
	d.State, d.Attempts, d.ProviderSid, d.DateSending = stateSending, d.Attempts+1, a.Sid, &now
	externalID, err := p.Send(ctx, out)
	if err == nil {
		d.ExternalID = &externalID
		return s.recordSent(ctx, d)
	}
	var se *SendError
	if !errors.As(err, &se) {
		se = &SendError{Message: err.Error()}
	}
	if se.Permanent {
		return s.fail(ctx, d, se.Code, se.Message)
	}
	// Only a carrier that said "not now" (429) certainly did not take the
	// message; any other failure leaves the attempt in doubt, to reconcile.
	state := stateSending
	if se.HTTPStatus == 429 {
		state = stateQueued
	}
	if err := s.read(context.WithoutCancel(ctx)).Model(&delivery{}).Where("sid = ? AND state = ?", d.Sid, stateSending).
		Updates(map[string]any{"state": state, "error_code": se.Code, "error_message": se.Message, "date_updated": s.opts.Now()}).Error; err != nil {
		return err
	}
	if se.RetryAfter > 0 {
		return jobs.Later(s.opts.Now().Add(se.RetryAfter))
	}
	return se
}

// reconcile settles a delivery whose last attempt's outcome is unknown. It
// returns done when the carrier has the message (now recorded) or when the
// job must wait for a status callback.
func (s *Service) reconcile(ctx context.Context, p Provider, a ProviderAccount, d delivery, out Outbound) (bool, error) {
	since := d.DateSending.Add(-time.Minute)
	ids, err := p.Find(ctx, out, since)
	switch {
	case errors.Is(err, ErrCannotFind):
		// The carrier echoes our reference in its status callbacks; if none
		// named this delivery within the grace period, the carrier never took it.
		if until := d.DateSending.Add(s.opts.StatusGrace); s.opts.Now().Before(until) {
			return true, jobs.Later(until)
		}
		return false, nil
	case err != nil:
		// A lookup that fails counts as an attempt: the job gives up after a
		// fixed number of runs, and the delivery must fail visibly before it
		// does rather than stay in doubt for good.
		if d.Attempts+1 >= s.opts.MaxAttempts {
			return true, s.fail(ctx, d, CodeGaveUp, fmt.Sprintf("gave up after %d attempts: %s", d.Attempts+1, err))
		}
		if uerr := s.read(ctx).Model(&delivery{}).Where("sid = ? AND state = ? AND attempts = ?", d.Sid, stateSending, d.Attempts).
			Updates(map[string]any{"attempts": d.Attempts + 1, "error_message": err.Error(), "date_updated": s.opts.Now()}).Error; uerr != nil {
			return true, uerr
		}
		return true, err
	}
	for _, id := range ids {
		var n int64
		if err := s.read(ctx).Model(&delivery{}).Where("provider_sid = ? AND external_id = ?", a.Sid, id).Count(&n).Error; err != nil {
			return true, err
		}
		if n == 0 {
			d.ExternalID = &id
			return true, s.recordSent(ctx, d)
		}
	}
	return false, nil
}

// outbound builds what the carrier is given for a delivery.
func (s *Service) outbound(ctx context.Context, d delivery, snd Sender) (Outbound, error) {
	m, err := s.conv.Message(ctx, d.ServiceSid, d.ConversationSid, d.MessageSid)
	if err != nil {
		return Outbound{}, err
	}
	out := Outbound{Ref: d.Sid, From: d.FromAddress, To: d.ToAddress, SenderID: snd.SenderID,
		StatusCallback: s.WebhookURL(snd.ProviderSid) + "?ref=" + d.Sid}
	if m.Body != nil {
		out.Body = *m.Body
	}
	if m.ContentSid != nil {
		out.ContentSid = *m.ContentSid
		if m.ContentVariables != nil {
			out.ContentVariables = *m.ContentVariables
		}
	}
	if m.Media != nil {
		var media []conversations.Media
		if err := json.Unmarshal([]byte(*m.Media), &media); err != nil {
			return out, err
		}
		for _, md := range media {
			out.Media = append(out.Media, OutboundMedia{URL: s.opts.PublicURL + s.media.SignedURL(md.Sid, time.Hour), ContentType: md.ContentType, Filename: md.Filename})
		}
	}
	return out, nil
}

// recordSent marks a delivery accepted by the carrier and gives its message
// a "sent" receipt. Both steps are idempotent, so a run cut off between them
// completes on the next.
func (s *Service) recordSent(ctx context.Context, d delivery) error {
	ctx = context.WithoutCancel(ctx) // the carrier has it: record that even if we are stopping
	ext := ""
	if d.ExternalID != nil {
		ext = *d.ExternalID
	}
	if d.State != stateSent {
		if err := s.read(ctx).Model(&delivery{}).Where("sid = ? AND state <> ?", d.Sid, stateSent).
			Updates(map[string]any{"state": stateSent, "external_id": d.ExternalID, "date_updated": s.opts.Now()}).Error; err != nil {
			return err
		}
	}
	// The carrier's statuses may have come first (its answer to the send was
	// lost): a receipt of theirs already says at least "sent", and a late
	// "sent" of ours must not hide a failure they reported.
	rs, _, err := s.conv.Receipts(ctx, d.ServiceSid, d.ConversationSid, d.MessageSid, conversations.Page{Limit: 1000})
	if err == nil && slices.ContainsFunc(rs, func(r conversations.DeliveryReceipt) bool { return r.ParticipantSid == d.ParticipantSid }) {
		return nil
	}
	if err == nil {
		_, err = s.conv.RecordReceipt(ctx, d.MessageSid, d.ParticipantSid, ext, StatusSent, 0)
	}
	if errs.KindOf(err) == errs.NotFound {
		return nil // the message was removed since
	}
	return err
}

// fail ends a delivery for good and says why on the message's receipt.
func (s *Service) fail(ctx context.Context, d delivery, code int, message string) error {
	ctx = context.WithoutCancel(ctx)
	if err := s.read(ctx).Model(&delivery{}).Where("sid = ? AND state <> ?", d.Sid, stateSent).
		Updates(map[string]any{"state": stateFailed, "error_code": code, "error_message": message, "date_updated": s.opts.Now()}).Error; err != nil {
		return err
	}
	s.log.Warn("delivery failed", "delivery", d.Sid, "message", d.MessageSid, "to", d.ToAddress, "code", code, "err", message)
	_, err := s.conv.RecordReceipt(ctx, d.MessageSid, d.ParticipantSid, "", StatusFailed, code)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return err
}

// status records a carrier's report on a delivery. A report naming a
// delivery still in doubt settles it: the carrier has the message.
func (s *Service) status(ctx context.Context, providerSid string, st Status) error {
	var d delivery
	q := s.read(ctx).Where("provider_sid = ? AND external_id = ?", providerSid, st.ExternalID)
	if st.Ref != "" {
		q = s.read(ctx).Where("sid = ?", st.Ref)
	}
	res := q.Limit(1).Find(&d)
	if res.Error != nil {
		return errs.Wrap(res.Error, "delivery")
	}
	if res.RowsAffected == 0 {
		s.log.Debug("status for an unknown delivery", "provider", providerSid, "ref", st.Ref, "id", st.ExternalID)
		return nil
	}
	// Any report with the carrier's id, even "failed", means the carrier took
	// the message: it must not be sent again.
	if d.State != stateSent && st.ExternalID != "" {
		if err := s.read(ctx).Model(&delivery{}).Where("sid = ? AND state <> ?", d.Sid, stateSent).
			Updates(map[string]any{"state": stateSent, "provider_sid": providerSid, "external_id": st.ExternalID, "date_updated": s.opts.Now()}).Error; err != nil {
			return err
		}
	}
	ext := st.ExternalID
	if ext == "" && d.ExternalID != nil {
		ext = *d.ExternalID
	}
	_, err := s.conv.RecordReceipt(ctx, d.MessageSid, d.ParticipantSid, ext, st.Status, st.ErrorCode)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return err
}
