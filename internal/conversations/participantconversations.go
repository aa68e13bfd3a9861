package conversations

import (
	"context"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// ParticipantConversation is one conversation a participant is in, seen
// from the participant: the membership, the conversation, and for a chat
// participant the service user behind the identity.
type ParticipantConversation struct {
	Participant  Participant
	Conversation Conversation
	UserSid      string // "" for a participant with an address
}

// ParticipantKey picks whose conversations to list: exactly one of a chat
// identity or a messaging address (+E164, whatsapp:+E164, …).
type ParticipantKey struct {
	Identity string
	Address  string
}

// ParticipantConversations lists the conversations of the service that the
// identity or address takes part in, closed ones included, in the order it
// joined them.
func (e *Engine) ParticipantConversations(ctx context.Context, serviceSid string, k ParticipantKey, p Page) ([]ParticipantConversation, bool, error) {
	q := e.read(ctx).Where("service_sid = ?", serviceSid)
	switch {
	case (k.Identity == "") == (k.Address == ""):
		return nil, false, errs.Invalidf("Exactly one of Identity or Address is required")
	case k.Identity != "":
		q = q.Where("identity = ?", k.Identity)
	default:
		q = q.Where("address = ?", k.Address)
	}
	members, more, err := listPage[Participant](q.Order("date_created, sid"), p, "participant conversations")
	if err != nil {
		return nil, false, err
	}
	if len(members) == 0 {
		return nil, more, nil
	}
	sids := make([]string, len(members))
	for i, m := range members {
		sids[i] = m.ConversationSid
	}
	var convs []Conversation
	if err := e.read(ctx).Where("sid IN ?", sids).Find(&convs).Error; err != nil {
		return nil, false, errs.Wrap(err, "participant conversations")
	}
	bySid := make(map[string]Conversation, len(convs))
	for _, c := range convs {
		bySid[c.Sid] = c
	}
	var userSid string
	if k.Identity != "" {
		var u User
		if err := e.read(ctx).Where("service_sid = ? AND identity = ?", serviceSid, k.Identity).Limit(1).Find(&u).Error; err != nil {
			return nil, false, errs.Wrap(err, "participant conversations")
		}
		userSid = u.Sid
	}
	out := make([]ParticipantConversation, len(members))
	for i, m := range members {
		out[i] = ParticipantConversation{Participant: m, Conversation: bySid[m.ConversationSid], UserSid: userSid}
	}
	return out, more, nil
}
