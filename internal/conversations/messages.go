package conversations

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Message is one message (IM…) in a conversation, with its gap-free index.
type Message struct {
	Sid              string `gorm:"primaryKey"`
	ServiceSid       string
	ConversationSid  string
	Index            int64 `gorm:"column:idx"`
	Author           string
	Body             *string
	Attributes       string
	ParticipantSid   *string
	Media            *string // JSON list of {sid,size,content_type,filename}
	ContentSid       *string
	ContentVariables *string
	Subject          *string
	DateCreated      time.Time
	DateUpdated      *time.Time // nil until edited
}

// Media describes one attachment of a message.
type Media struct {
	Sid         string `json:"sid"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Filename    string `json:"filename"`
}

// MessageParams are the settable fields; nil leaves a field as is.
type MessageParams struct {
	Author           *string
	Body             *string
	Attributes       *string
	MediaSids        []string // uploaded media (ME…) to attach; the REST API takes one
	ContentSid       *string
	ContentVariables *string
	Subject          *string
	DateCreated      *time.Time
	DateUpdated      *time.Time
	Source           string
}

func (p *MessageParams) validate() error {
	if p.Body != nil && len(*p.Body) > MaxBody {
		return errs.E(errs.TooLarge, errs.CodeInvalidParam, "Body must be at most %d bytes", MaxBody)
	}
	if err := checkLength("Author", p.Author, MaxIdentity); err != nil {
		return err
	}
	if err := checkLength("Subject", p.Subject, MaxSubject); err != nil {
		return err
	}
	if p.ContentSid != nil && *p.ContentSid != "" && !sid.Is(*p.ContentSid, sid.ContentTemplate) {
		return errs.Invalidf("ContentSid must be a Content template SID (HX…)")
	}
	if p.ContentVariables != nil && *p.ContentVariables != "" && !json.Valid([]byte(*p.ContentVariables)) {
		return errs.Invalidf("ContentVariables must be a valid JSON string")
	}
	return checkAttributes(p.Attributes, MaxMessageAttrs)
}

// AddMessage appends a message to a conversation. Its index is assigned in
// the insert's transaction, so indexes never skip or repeat. A message wakes
// an inactive conversation and restarts its timers.
func (e *Engine) AddMessage(ctx context.Context, serviceSid, conversationKey string, p MessageParams) (Message, error) {
	if err := p.validate(); err != nil {
		return Message{}, err
	}
	hasContent := p.ContentSid != nil && *p.ContentSid != ""
	if (p.Body == nil || *p.Body == "") && len(p.MediaSids) == 0 && !hasContent {
		return Message{}, errs.Invalidf("A message needs a Body, a MediaSid or a ContentSid")
	}
	if err := e.preMessage(ctx, PreMessageAdd, serviceSid, conversationKey, "", &p); err != nil {
		return Message{}, err
	}
	return inConversation(e, ctx, serviceSid, conversationKey, func(tx *db.Tx, c Conversation) (Message, error) {
		return e.addMessage(tx, c, p)
	})
}

func (e *Engine) addMessage(tx *db.Tx, c Conversation, p MessageParams) (Message, error) {
	if c.State == StateClosed {
		return Message{}, errClosed(c.Sid)
	}
	now := e.now()
	m := Message{Sid: sid.New(sid.Message), ServiceSid: c.ServiceSid, ConversationSid: c.Sid, Author: "system",
		Attributes: "{}", DateCreated: now}
	if p.Author != nil && *p.Author != "" {
		m.Author = *p.Author
	}
	if p.Body != nil {
		m.Body = p.Body
	}
	if p.Attributes != nil {
		m.Attributes = *p.Attributes
	}
	if p.ContentSid != nil && *p.ContentSid != "" {
		m.ContentSid, m.ContentVariables = p.ContentSid, p.ContentVariables
		m.Body = nil // Twilio ignores Body with a content template
	}
	if p.Subject != nil {
		m.Subject = p.Subject
	}
	if p.DateCreated != nil {
		m.DateCreated = *p.DateCreated
	}
	m.DateUpdated = p.DateUpdated
	if len(p.MediaSids) > 0 {
		if e.media == nil {
			return m, errs.NotFoundf("Media %s was not found", p.MediaSids[0])
		}
		linked, err := e.media.LinkMedia(tx, c.ServiceSid, c.Sid, m.Sid, p.MediaSids)
		if err != nil {
			return m, err
		}
		raw, err := json.Marshal(linked)
		if err != nil {
			return m, err
		}
		media := string(raw)
		m.Media = &media
	}
	// The author is a participant when it names one by identity or address.
	var author Participant
	res := tx.Where("conversation_sid = ? AND (identity = ? OR address = ?)", c.Sid, m.Author, m.Author).Limit(1).Find(&author)
	if res.Error != nil {
		return m, res.Error
	}
	if res.RowsAffected == 1 {
		m.ParticipantSid = &author.Sid
	}
	// Claim the next index: the row lock serialises writers to this
	// conversation, so indexes are gap-free and unique.
	if err := tx.Raw(`UPDATE conversations SET next_index = next_index + 1, date_updated = ? WHERE sid = ? RETURNING next_index - 1`,
		now, c.Sid).Scan(&m.Index).Error; err != nil {
		return m, err
	}
	if err := tx.Create(&m).Error; err != nil {
		return m, err
	}
	c.NextIndex = m.Index + 1
	if c.State == StateInactive || c.TimerInactive != "" || c.TimerClosed != "" {
		from := c.State
		c.State = StateActive
		if err := e.armTimers(tx, &c); err != nil {
			return m, err
		}
		if from != c.State {
			if err := e.applyState(tx, &c, from, "MESSAGE"); err != nil {
				return m, err
			}
		} else if err := tx.Model(&c).Select("date_inactive", "date_closed").Updates(&c).Error; err != nil {
			return m, err
		}
	}
	for _, h := range e.messageHooks {
		if err := h(tx, c, m); err != nil {
			return m, err
		}
	}
	idx := m.Index
	return m, e.publish(tx, events.Event{Type: events.MessageAdded, ServiceSid: c.ServiceSid, ConversationSid: c.Sid,
		Sid: m.Sid, Index: &idx, Source: p.Source})
}

// findMessage loads a message of c by SID.
func (e *Engine) findMessage(q *gorm.DB, c Conversation, messageSid string) (Message, error) {
	var m Message
	res := q.Where("conversation_sid = ? AND sid = ?", c.Sid, messageSid).Limit(1).Find(&m)
	if res.Error != nil {
		return m, errs.Wrap(res.Error, "message")
	}
	if res.RowsAffected == 0 {
		return m, errs.NotFoundf("The requested resource /Conversations/%s/Messages/%s was not found", c.Sid, messageSid)
	}
	return m, nil
}

// Message fetches one message.
func (e *Engine) Message(ctx context.Context, serviceSid, conversationKey, messageSid string) (Message, error) {
	c, err := e.Conversation(ctx, serviceSid, conversationKey)
	if err != nil {
		return Message{}, err
	}
	return e.findMessage(e.read(ctx), c, messageSid)
}

// Messages lists a conversation's messages by index, ascending unless desc.
func (e *Engine) Messages(ctx context.Context, serviceSid, conversationKey string, desc bool, p Page) ([]Message, bool, error) {
	c, err := e.Conversation(ctx, serviceSid, conversationKey)
	if err != nil {
		return nil, false, err
	}
	order := "idx"
	if desc {
		order = "idx DESC"
	}
	return listPage[Message](e.read(ctx).Where("conversation_sid = ?", c.Sid).Order(order), p, "messages")
}

// MessagesAfter returns up to limit messages with index > after, ascending:
// what a client that last saw index `after` missed.
func (e *Engine) MessagesAfter(ctx context.Context, conversationSid string, after int64, limit int) ([]Message, error) {
	var rows []Message
	err := e.read(ctx).Where("conversation_sid = ? AND idx > ?", conversationSid, after).Order("idx").Limit(limit).Find(&rows).Error
	return rows, errs.Wrap(err, "messages")
}

// UpdateMessage edits a message's author, body, attributes, subject or dates.
func (e *Engine) UpdateMessage(ctx context.Context, serviceSid, conversationKey, messageSid string, p MessageParams) (Message, error) {
	if err := p.validate(); err != nil {
		return Message{}, err
	}
	if p.MediaSids != nil || p.ContentSid != nil {
		return Message{}, errs.Invalidf("MediaSid and ContentSid cannot be changed")
	}
	if err := e.preMessage(ctx, PreMessageUpdate, serviceSid, conversationKey, messageSid, &p); err != nil {
		return Message{}, err
	}
	return inConversation(e, ctx, serviceSid, conversationKey, func(tx *db.Tx, c Conversation) (Message, error) {
		if c.State == StateClosed {
			return Message{}, errClosed(c.Sid)
		}
		m, err := e.findMessage(tx.DB, c, messageSid)
		if err != nil {
			return m, err
		}
		if p.Author != nil {
			m.Author = *p.Author
		}
		if p.Body != nil {
			m.Body = p.Body
		}
		if p.Attributes != nil {
			m.Attributes = *p.Attributes
		}
		if p.Subject != nil {
			m.Subject = p.Subject
		}
		if p.DateCreated != nil {
			m.DateCreated = *p.DateCreated
		}
		now := e.now()
		m.DateUpdated = &now
		if p.DateUpdated != nil {
			m.DateUpdated = p.DateUpdated
		}
		if err := tx.Model(&m).Select("author", "body", "attributes", "subject", "date_created", "date_updated").
			Updates(&m).Error; err != nil {
			return m, err
		}
		idx := m.Index
		return m, e.publish(tx, events.Event{Type: events.MessageUpdated, ServiceSid: c.ServiceSid, ConversationSid: c.Sid,
			Sid: m.Sid, Index: &idx, Source: p.Source})
	})
}

// DeleteMessage removes a message and its delivery receipts. Its index is
// not reused.
func (e *Engine) DeleteMessage(ctx context.Context, serviceSid, conversationKey, messageSid, source string) error {
	if _, err := e.ask(ctx, PreMessageRemove, serviceSid, source, func(a *Action) error {
		c, err := e.Conversation(ctx, serviceSid, conversationKey)
		if err != nil {
			return err
		}
		a.Conversation = c
		a.Message, err = e.findMessage(e.read(ctx), c, messageSid)
		return err
	}); err != nil {
		return err
	}
	_, err := inConversation(e, ctx, serviceSid, conversationKey, func(tx *db.Tx, c Conversation) (struct{}, error) {
		m, err := e.findMessage(tx.DB, c, messageSid)
		if err != nil {
			return struct{}{}, err
		}
		// Published first, so that event hooks still see the message.
		idx := m.Index
		if err := e.publish(tx, events.Event{Type: events.MessageRemoved, ServiceSid: c.ServiceSid, ConversationSid: c.Sid,
			Sid: m.Sid, Index: &idx, Source: source}); err != nil {
			return struct{}{}, err
		}
		if err := tx.Where("message_sid = ?", m.Sid).Delete(&DeliveryReceipt{}).Error; err != nil {
			return struct{}{}, err
		}
		return struct{}{}, tx.Delete(&m).Error
	})
	return err
}
