package conversations

import (
	"context"
	"encoding/json"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// InboundParams describe a message a customer sent over a messaging channel
// (SMS, WhatsApp…): Address is the customer's, ProxyAddress ours.
type InboundParams struct {
	Address      string
	ProxyAddress string
	ProfileName  string // the customer's name as the carrier reports it
	Message      MessageParams
	// Within runs in the transaction that appends the message; the channel
	// layer records its deduplication key there, so a duplicate rolls the
	// whole message back.
	Within func(tx *db.Tx, c Conversation, m Message) error
}

// Receive routes an inbound message the way Twilio does: to the open
// conversation that holds the (address, proxy address) binding, or else to a
// new conversation when the proxy address's configuration auto-creates one —
// with the customer as participant and the configured webhook or Studio flow
// attached. The message is authored by the customer's address and wakes an
// inactive conversation.
func (e *Engine) Receive(ctx context.Context, p InboundParams) (Conversation, Message, error) {
	p.Message.Author = &p.Address
	if err := p.Message.validate(); err != nil {
		return Conversation{}, Message{}, err
	}
	// A message to an open conversation is put to its onMessageAdd
	// pre-event first, as Twilio does for channel messages; one that opens a
	// conversation is announced by the post-events only.
	var open struct{ ConversationSid, ServiceSid string }
	if err := e.read(ctx).Raw(`SELECT b.conversation_sid, c.service_sid FROM bindings b JOIN conversations c ON c.sid = b.conversation_sid
		WHERE b.address = ? AND b.proxy_address = ?`, p.Address, p.ProxyAddress).Scan(&open).Error; err != nil {
		return Conversation{}, Message{}, errs.Wrap(err, "binding")
	}
	if open.ConversationSid != "" {
		if err := e.preMessage(ctx, PreMessageAdd, open.ServiceSid, open.ConversationSid, "", &p.Message); err != nil {
			return Conversation{}, Message{}, err
		}
		p.Message.Author = &p.Address
	}
	var c Conversation
	var m Message
	var err error
	// Two first messages from one customer can race to auto-create: the
	// loser's binding collides with the winner's once it commits, and a retry
	// finds the winner's conversation. A message can race the close of its
	// conversation: closing frees the binding, and a retry opens a new one.
	for range 3 {
		err = e.write(ctx, func(tx *db.Tx) error {
			var err error
			if c, err = e.inboundConversation(tx, p); err != nil {
				return err
			}
			if m, err = e.addMessage(tx, c, p.Message); err != nil {
				return err
			}
			if p.Within != nil {
				return p.Within(tx, c, m)
			}
			return nil
		})
		if code := errs.CodeOf(err); code != CodePairInUse && code != CodeClosed {
			break
		}
	}
	return c, m, err
}

// InboundServiceSid is the service an inbound message on the pair would land
// in, so that its media can be stored there before the message is written.
func (e *Engine) InboundServiceSid(ctx context.Context, address, proxyAddress string) (string, error) {
	var svc string
	err := e.read(ctx).Raw(`SELECT c.service_sid FROM bindings b JOIN conversations c ON c.sid = b.conversation_sid
		WHERE b.address = ? AND b.proxy_address = ?`, address, proxyAddress).Scan(&svc).Error
	if err != nil || svc != "" {
		return svc, errs.Wrap(err, "binding")
	}
	a, ok, err := e.AddressConfigurationFor(ctx, proxyAddress)
	if err != nil {
		return "", err
	}
	if ok && a.AutoCreationServiceSid != "" {
		return a.AutoCreationServiceSid, nil
	}
	err = e.db.InTx(ctx, func(tx *db.Tx) error {
		svc, err = e.DefaultServiceSid(tx)
		return err
	})
	return svc, err
}

// inboundConversation finds (and locks) or auto-creates the conversation for
// an inbound message.
func (e *Engine) inboundConversation(tx *db.Tx, p InboundParams) (Conversation, error) {
	var b binding
	res := tx.Where("address = ? AND proxy_address = ?", p.Address, p.ProxyAddress).Limit(1).Find(&b)
	if res.Error != nil {
		return Conversation{}, res.Error
	}
	if res.RowsAffected == 1 {
		return e.ConversationTx(tx, b.ConversationSid)
	}
	var a AddressConfiguration
	res = tx.Where("address = ?", p.ProxyAddress).Limit(1).Find(&a)
	if res.Error != nil {
		return Conversation{}, res.Error
	}
	if res.RowsAffected == 0 || !a.AutoCreationEnabled {
		return Conversation{}, errs.NotFoundf("No open conversation holds %s ↔ %s and no address configuration auto-creates one for %s", p.Address, p.ProxyAddress, p.ProxyAddress)
	}
	member := ParticipantParams{Address: &p.Address, ProxyAddress: &p.ProxyAddress, Source: p.Message.Source}
	if p.ProfileName != "" {
		attrs, err := json.Marshal(map[string]string{"friendlyName": p.ProfileName})
		if err != nil {
			return Conversation{}, err
		}
		member.Attributes = ptrString(string(attrs))
	}
	c, _, err := e.autoCreate(tx, a, ConversationParams{Source: p.Message.Source}, member)
	return c, err
}

// autoCreate opens a conversation the way address configuration a says:
// in its service (the default one when it names none), with the customer
// as participant and its webhook or Studio flow attached.
func (e *Engine) autoCreate(tx *db.Tx, a AddressConfiguration, cp ConversationParams, customer ParticipantParams) (Conversation, Participant, error) {
	serviceSid := a.AutoCreationServiceSid
	if serviceSid == "" {
		var err error
		if serviceSid, err = e.DefaultServiceSid(tx); err != nil {
			return Conversation{}, Participant{}, err
		}
	}
	c, err := e.createConversation(tx, serviceSid, cp)
	if err != nil {
		return c, Participant{}, err
	}
	if err := customer.validate(); err != nil {
		return c, Participant{}, err
	}
	m, err := e.addParticipant(tx, c, customer)
	if err != nil {
		return c, m, err
	}
	return c, m, e.attachAutoCreated(tx, c, a)
}

// OpenParams describe a conversation a customer opens on one of the
// account's chat addresses (a webchat session). No binding routes chat
// messages, so each one is a new conversation.
type OpenParams struct {
	// Address is the chat address configuration, by SID or address.
	Address      string
	Conversation ConversationParams
	// Customer is the customer's chat participant: an Identity.
	Customer ParticipantParams
	// Messages are appended in order once the customer has joined, such as
	// the customer's first question and a greeting.
	Messages []MessageParams
	// Within runs last in the same transaction, so that a layer above
	// records its own rows with the conversation or not at all.
	Within func(tx *db.Tx, c Conversation, customer Participant, messages []Message) error
}

// Open opens a conversation on a chat address as an inbound message opens
// one on a messaging address: in the service its address configuration
// names, with its webhook or Studio flow attached, all in one transaction.
// As for an auto-created conversation's first message, nothing is put to
// pre-events; the post-events announce it.
func (e *Engine) Open(ctx context.Context, p OpenParams) (Conversation, Participant, []Message, error) {
	if p.Customer.Identity == nil || *p.Customer.Identity == "" || p.Customer.Address != nil {
		return Conversation{}, Participant{}, nil, errs.Invalidf("The customer of a chat conversation needs an Identity and no address")
	}
	for i := range p.Messages {
		if err := p.Messages[i].validate(); err != nil {
			return Conversation{}, Participant{}, nil, err
		}
		if (p.Messages[i].Body == nil || *p.Messages[i].Body == "") && len(p.Messages[i].MediaSids) == 0 {
			return Conversation{}, Participant{}, nil, errs.Invalidf("A message needs a Body or media")
		}
	}
	var c Conversation
	var customer Participant
	var msgs []Message
	err := e.write(ctx, func(tx *db.Tx) error {
		a, err := e.findAddressConfiguration(tx.Locked("SHARE"), p.Address)
		if err != nil {
			return err
		}
		if a.Type != "chat" {
			return errs.Invalidf("Address configuration %s is for %s; conversations open only on chat addresses", a.Sid, a.Type)
		}
		if !a.AutoCreationEnabled {
			return errs.E(errs.Conflict, errs.CodeInvalidParam, "Address configuration %s does not auto-create conversations (AutoCreation.Enabled is false)", a.Sid)
		}
		if c, customer, err = e.autoCreate(tx, a, p.Conversation, p.Customer); err != nil {
			return err
		}
		msgs = make([]Message, 0, len(p.Messages))
		for _, mp := range p.Messages {
			m, err := e.addMessage(tx, c, mp)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		if p.Within != nil {
			return p.Within(tx, c, customer, msgs)
		}
		return nil
	})
	if err != nil {
		return Conversation{}, Participant{}, nil, e.mapConversationErr(err, p.Conversation)
	}
	return c, customer, msgs, nil
}

// attachAutoCreated gives an auto-created conversation the webhook or Studio
// flow its address configuration names.
func (e *Engine) attachAutoCreated(tx *db.Tx, c Conversation, a AddressConfiguration) error {
	w := ConversationWebhook{Sid: sid.New(sid.ConversationWebhook), ServiceSid: c.ServiceSid, ConversationSid: c.Sid,
		Method: "POST", Filters: "[]", Triggers: "[]", DateCreated: e.now()}
	w.DateUpdated = w.DateCreated
	switch a.AutoCreationType {
	case AutoCreationWebhook:
		w.Target, w.URL, w.Filters = ScopedTargetWebhook, a.AutoCreationWebhookURL, a.AutoCreationWebhookFilters
		if a.AutoCreationWebhookMethod != "" {
			w.Method = a.AutoCreationWebhookMethod
		}
	case AutoCreationStudio:
		w.Target, w.FlowSid = ScopedTargetStudio, a.AutoCreationStudioFlowSid
	default:
		return nil
	}
	if err := tx.Create(&w).Error; err != nil {
		return err
	}
	return e.publish(tx, events.Event{Type: events.ConversationWebhookAdded, ServiceSid: c.ServiceSid, ConversationSid: c.Sid, Sid: w.Sid})
}

func ptrString(s string) *string { return &s }
