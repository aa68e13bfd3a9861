package conversations

import (
	"context"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Delivery statuses of a message to one non-chat participant.
const (
	DeliverySent        = "sent"
	DeliveryDelivered   = "delivered"
	DeliveryRead        = "read"
	DeliveryFailed      = "failed"
	DeliveryUndelivered = "undelivered"
)

// DeliveryReceipt (DY…) is a message's delivery status to one non-chat participant.
type DeliveryReceipt struct {
	Sid               string `gorm:"primaryKey"`
	ServiceSid        string
	ConversationSid   string
	MessageSid        string
	ParticipantSid    string
	ChannelMessageSid string
	Status            string
	ErrorCode         int
	DateCreated       time.Time
	DateUpdated       time.Time
}

// Delivery summarises a message's receipts: for each status, whether all,
// some or none of the receipts reached it.
type Delivery struct {
	Total       int    `json:"total"`
	Sent        string `json:"sent"`
	Delivered   string `json:"delivered"`
	Read        string `json:"read"`
	Failed      string `json:"failed"`
	Undelivered string `json:"undelivered"`
}

// deliveryRank orders statuses along the happy path, so that a message read
// by a participant also counts as delivered and sent to them.
var deliveryRank = map[string]int{DeliverySent: 1, DeliveryDelivered: 2, DeliveryRead: 3}

// deliveryStage orders statuses as a carrier reports them, so that a late
// callback for an earlier stage (a "sent" after "undelivered") is ignored.
var deliveryStage = map[string]int{DeliverySent: 1, DeliveryDelivered: 2, DeliveryUndelivered: 2, DeliveryFailed: 2, DeliveryRead: 3}

// RecordReceipt creates or advances the delivery receipt of a message to a
// participant, as a provider's status callback reports it. A status never
// moves backwards along sent → delivered → read.
func (e *Engine) RecordReceipt(ctx context.Context, messageSid, participantSid, channelMessageSid, status string, errorCode int) (DeliveryReceipt, error) {
	switch status {
	case DeliverySent, DeliveryDelivered, DeliveryRead, DeliveryFailed, DeliveryUndelivered:
	default:
		return DeliveryReceipt{}, errs.Invalidf("unknown delivery status %q", status)
	}
	var r DeliveryReceipt
	err := e.write(ctx, func(tx *db.Tx) error {
		// Locking the message serialises callbacks racing to create its
		// first receipt for the same participant.
		var m Message
		res := tx.Locked("UPDATE").Where("sid = ?", messageSid).Limit(1).Find(&m)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Messages", messageSid)
		}
		now := e.now()
		res = tx.Where("message_sid = ? AND participant_sid = ?", messageSid, participantSid).Limit(1).Find(&r)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			r = DeliveryReceipt{Sid: sid.New(sid.DeliveryReceipt), ServiceSid: m.ServiceSid, ConversationSid: m.ConversationSid,
				MessageSid: m.Sid, ParticipantSid: participantSid, DateCreated: now}
		} else if deliveryStage[status] < deliveryStage[r.Status] {
			return nil // a late callback for an earlier stage
		}
		r.Status, r.ErrorCode, r.DateUpdated = status, errorCode, now
		if channelMessageSid != "" {
			r.ChannelMessageSid = channelMessageSid
		}
		if err := tx.Save(&r).Error; err != nil {
			return err
		}
		idx := m.Index
		return e.publishChange(tx, Change{Event: events.Event{Type: events.DeliveryUpdated, ServiceSid: m.ServiceSid,
			ConversationSid: m.ConversationSid, Sid: m.Sid, Index: &idx}, Receipt: &r})
	})
	return r, errs.Wrap(err, "record receipt")
}

// Receipts lists a message's delivery receipts.
func (e *Engine) Receipts(ctx context.Context, serviceSid, conversationKey, messageSid string, p Page) ([]DeliveryReceipt, bool, error) {
	m, err := e.Message(ctx, serviceSid, conversationKey, messageSid)
	if err != nil {
		return nil, false, err
	}
	return listPage[DeliveryReceipt](e.read(ctx).Where("message_sid = ?", m.Sid).Order("date_created, sid"), p, "receipts")
}

// Receipt fetches one delivery receipt.
func (e *Engine) Receipt(ctx context.Context, serviceSid, conversationKey, messageSid, receiptSid string) (DeliveryReceipt, error) {
	m, err := e.Message(ctx, serviceSid, conversationKey, messageSid)
	if err != nil {
		return DeliveryReceipt{}, err
	}
	var r DeliveryReceipt
	res := e.read(ctx).Where("message_sid = ? AND sid = ?", m.Sid, receiptSid).Limit(1).Find(&r)
	if res.Error != nil {
		return r, errs.Wrap(res.Error, "receipt")
	}
	if res.RowsAffected == 0 {
		return r, notFound("Receipts", receiptSid)
	}
	return r, nil
}

// Deliveries aggregates the receipts of the given messages; messages without
// receipts (chat-only conversations) are absent from the result.
func (e *Engine) Deliveries(ctx context.Context, messageSids []string) (map[string]Delivery, error) {
	out := map[string]Delivery{}
	if len(messageSids) == 0 {
		return out, nil
	}
	var rows []struct {
		MessageSid string
		Status     string
		N          int
	}
	if err := e.read(ctx).Raw(`SELECT message_sid, status, COUNT(*) AS n FROM delivery_receipts
		WHERE message_sid IN ? GROUP BY message_sid, status`, messageSids).Scan(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "deliveries")
	}
	counts := map[string]map[string]int{}
	for _, r := range rows {
		if counts[r.MessageSid] == nil {
			counts[r.MessageSid] = map[string]int{}
		}
		counts[r.MessageSid][r.Status] += r.N
	}
	for msg, c := range counts {
		total := 0
		for _, n := range c {
			total += n
		}
		atLeast := func(status string) int { // receipts at or past status on the happy path
			n := 0
			for s, k := range c {
				if deliveryRank[s] >= deliveryRank[status] && deliveryRank[s] > 0 {
					n += k
				}
			}
			return n
		}
		out[msg] = Delivery{Total: total, Sent: share(atLeast(DeliverySent), total),
			Delivered: share(atLeast(DeliveryDelivered), total), Read: share(c[DeliveryRead], total),
			Failed: share(c[DeliveryFailed], total), Undelivered: share(c[DeliveryUndelivered], total)}
	}
	return out, nil
}

func share(n, total int) string {
	switch {
	case n == 0:
		return "none"
	case n == total:
		return "all"
	}
	return "some"
}
