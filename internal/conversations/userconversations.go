package conversations

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Notification levels of a user in a conversation.
const (
	NotificationDefault = "default"
	NotificationMuted   = "muted"
)

// UserConversation is a conversation as one of its users sees it: the
// conversation, the user's participant in it, and how much is unread.
type UserConversation struct {
	Conversation Conversation
	Participant  Participant
	UserSid      string
	// UnreadMessagesCount counts messages after the read horizon; nil while
	// the participant has no horizon.
	UnreadMessagesCount *int64
}

// UserConversationParams are the settable fields; nil leaves a field as is.
type UserConversationParams struct {
	NotificationLevel    *string
	LastReadMessageIndex *int64
	LastReadTimestamp    *time.Time
	Source               string
}

// UserConversations lists the conversations the user is a participant of, in
// the order the user joined them.
func (e *Engine) UserConversations(ctx context.Context, serviceSid, userKey string, p Page) ([]UserConversation, bool, error) {
	q := e.read(ctx)
	u, err := e.findUser(q, serviceSid, userKey)
	if err != nil {
		return nil, false, err
	}
	members, more, err := listPage[Participant](q.Where("service_sid = ? AND identity = ?", serviceSid, u.Identity).Order("date_created, sid"), p, "user conversations")
	if err != nil {
		return nil, false, err
	}
	out, err := e.userConversations(q, u, members)
	return out, more, err
}

// userConversations joins members (participants of user u) with their
// conversations and unread counts, in two queries whatever their number.
func (e *Engine) userConversations(q *gorm.DB, u User, members []Participant) ([]UserConversation, error) {
	if len(members) == 0 {
		return []UserConversation{}, nil
	}
	sids := make([]string, len(members))
	memberSids := make([]string, len(members))
	for i, m := range members {
		sids[i], memberSids[i] = m.ConversationSid, m.Sid
	}
	var convs []Conversation
	if err := q.Where("sid IN ?", sids).Find(&convs).Error; err != nil {
		return nil, errs.Wrap(err, "user conversations")
	}
	byConv := make(map[string]Conversation, len(convs))
	for _, c := range convs {
		byConv[c.Sid] = c
	}
	// A participant without a horizon matches no message (NULL compares false).
	var counts []struct {
		Sid    string
		Unread int64
	}
	if err := q.Raw(`SELECT p.sid, COUNT(*) AS unread FROM participants p
		JOIN messages m ON m.conversation_sid = p.conversation_sid AND m.idx > p.last_read_message_index
		WHERE p.sid IN ? GROUP BY p.sid`, memberSids).Scan(&counts).Error; err != nil {
		return nil, errs.Wrap(err, "unread counts")
	}
	unread := make(map[string]int64, len(counts))
	for _, c := range counts {
		unread[c.Sid] = c.Unread
	}
	out := make([]UserConversation, len(members))
	for i, m := range members {
		out[i] = UserConversation{Conversation: byConv[m.ConversationSid], Participant: m, UserSid: u.Sid}
		if m.LastReadMessageIndex != nil {
			n := unread[m.Sid]
			out[i].UnreadMessagesCount = &n
		}
	}
	return out, nil
}

// findMembership loads the user, the conversation (by SID or unique name)
// and the user's participant in it.
func (e *Engine) findMembership(q *gorm.DB, serviceSid, userKey, conversationKey string) (User, Conversation, Participant, error) {
	u, err := e.findUser(q, serviceSid, userKey)
	if err != nil {
		return u, Conversation{}, Participant{}, err
	}
	c, err := e.findConversation(q, serviceSid, conversationKey)
	if err != nil {
		return u, c, Participant{}, err
	}
	var m Participant
	res := q.Where("conversation_sid = ? AND identity = ?", c.Sid, u.Identity).Limit(1).Find(&m)
	if res.Error != nil {
		return u, c, m, errs.Wrap(res.Error, "participant")
	}
	if res.RowsAffected == 0 {
		return u, c, m, errs.NotFoundf("The requested resource /Users/%s/Conversations/%s was not found", userKey, conversationKey)
	}
	return u, c, m, nil
}

// UserConversation fetches one of the user's conversations.
func (e *Engine) UserConversation(ctx context.Context, serviceSid, userKey, conversationKey string) (UserConversation, error) {
	q := e.read(ctx)
	u, _, m, err := e.findMembership(q, serviceSid, userKey, conversationKey)
	if err != nil {
		return UserConversation{}, err
	}
	out, err := e.userConversations(q, u, []Participant{m})
	if err != nil {
		return UserConversation{}, err
	}
	return out[0], nil
}

// UpdateUserConversation changes the user's notification level or read
// horizon in a conversation; both live on the user's participant.
func (e *Engine) UpdateUserConversation(ctx context.Context, serviceSid, userKey, conversationKey string, p UserConversationParams) (UserConversation, error) {
	if p.NotificationLevel != nil && *p.NotificationLevel != NotificationDefault && *p.NotificationLevel != NotificationMuted {
		return UserConversation{}, errs.Invalidf("NotificationLevel must be default or muted")
	}
	if p.LastReadMessageIndex != nil && *p.LastReadMessageIndex < 0 {
		return UserConversation{}, errs.Invalidf("LastReadMessageIndex must not be negative")
	}
	var out UserConversation
	err := e.write(ctx, func(tx *db.Tx) error {
		u, c, m, err := e.findMembership(tx.DB, serviceSid, userKey, conversationKey)
		if err != nil {
			return err
		}
		if c.State == StateClosed {
			return errClosed(c.Sid)
		}
		now := e.now()
		if p.NotificationLevel != nil {
			m.NotificationLevel = *p.NotificationLevel
		}
		if p.LastReadMessageIndex != nil {
			if *p.LastReadMessageIndex >= c.NextIndex {
				return errs.Invalidf("LastReadMessageIndex %d is beyond the conversation's last message", *p.LastReadMessageIndex)
			}
			m.LastReadMessageIndex = p.LastReadMessageIndex
			m.LastReadTimestamp = &now
		}
		if p.LastReadTimestamp != nil {
			m.LastReadTimestamp = p.LastReadTimestamp
		}
		m.DateUpdated = now
		if err := tx.Model(&m).Select("notification_level", "last_read_message_index", "last_read_timestamp", "date_updated").
			Updates(&m).Error; err != nil {
			return err
		}
		if err := e.publish(tx, events.Event{Type: events.ParticipantUpdated, ServiceSid: serviceSid, ConversationSid: c.Sid,
			Sid: m.Sid, Source: p.Source}); err != nil {
			return err
		}
		rows, err := e.userConversations(tx.DB, u, []Participant{m})
		if err != nil {
			return err
		}
		out = rows[0]
		return nil
	})
	return out, errs.Wrap(err, "update user conversation")
}

// LeaveConversation removes the user's participant from a conversation; the
// user and the conversation stay.
func (e *Engine) LeaveConversation(ctx context.Context, serviceSid, userKey, conversationKey, source string) error {
	err := e.write(ctx, func(tx *db.Tx) error {
		_, _, m, err := e.findMembership(tx.DB, serviceSid, userKey, conversationKey)
		if err != nil {
			return err
		}
		return e.removeParticipant(tx, m, source)
	})
	return errs.Wrap(err, "leave conversation")
}
