package desk

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// MaxTemplateVariables bounds the variables ({{1}}…) one template message
// fills.
const MaxTemplateVariables = 10

// TemplatePicker is what the composer offers on a WhatsApp conversation
// whose 24-hour window is closed: free-form text would be refused
// (channels.CodeOutsideWindow), templates go through.
type TemplatePicker struct {
	ConversationSid string
	// WindowClosed says free-form messages would be refused now; the picker
	// is only worth showing then.
	WindowClosed bool
	// LastInbound is when the customer last wrote (zero: never, on this
	// number).
	LastInbound time.Time
	// Templates are the sender's provider account's templates, by name.
	Templates []Template
}

// Template is a WhatsApp message template an agent can send.
type Template struct {
	ContentSid string // HX…
	Name       string
	Language   string
}

// whatsappCustomer is the WhatsApp participant of a conversation and our
// sender they write to.
type whatsappCustomer struct {
	address, proxyAddress string
}

// TemplatePicker says whether the agent's WhatsApp conversation needs a
// template and which ones its sender has. A conversation on another
// channel has no window: WindowClosed is false and no templates are listed.
func (s *Service) TemplatePicker(ctx context.Context, a Agent, conversationSid string) (TemplatePicker, error) {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return TemplatePicker{}, err
	}
	out := TemplatePicker{ConversationSid: conversationSid}
	cust, ok, err := s.whatsappCustomerOf(ctx, w)
	if err != nil || !ok {
		return out, err
	}
	var last []time.Time
	if err := s.read(ctx).Raw(`SELECT last_inbound_at FROM channel_contacts WHERE address = ? AND proxy_address = ?`,
		cust.address, cust.proxyAddress).Scan(&last).Error; err != nil {
		return out, errs.Wrap(err, "whatsapp window")
	}
	if len(last) > 0 {
		out.LastInbound = last[0]
	}
	out.WindowClosed = len(last) == 0 || s.now().Sub(last[0]) > channels.WhatsAppWindow
	out.Templates, err = s.senderTemplates(ctx, cust.proxyAddress)
	return out, err
}

// whatsappCustomerOf finds the conversation's WhatsApp participant, if it
// has one still in it.
func (s *Service) whatsappCustomerOf(ctx context.Context, w work) (whatsappCustomer, bool, error) {
	var members []conversations.Participant
	if err := s.read(ctx).Where("conversation_sid = ? AND channel_type = ?", w.conversation.Sid, "whatsapp").
		Order("date_created").Find(&members).Error; err != nil {
		return whatsappCustomer{}, false, errs.Wrap(err, "whatsapp participant")
	}
	for _, m := range members {
		if m.Address != nil && m.ProxyAddress != nil {
			return whatsappCustomer{address: *m.Address, proxyAddress: *m.ProxyAddress}, true, nil
		}
	}
	return whatsappCustomer{}, false, nil
}

// senderTemplates lists the templates of the provider account our sender
// belongs to.
func (s *Service) senderTemplates(ctx context.Context, senderAddress string) ([]Template, error) {
	var snd channels.Sender
	res := s.read(ctx).Where("address = ?", senderAddress).Limit(1).Find(&snd)
	if res.Error != nil || res.RowsAffected == 0 {
		return nil, errs.Wrap(res.Error, "whatsapp sender")
	}
	var acct channels.ProviderAccount
	res = s.read(ctx).Where("sid = ?", snd.ProviderSid).Limit(1).Find(&acct)
	if res.Error != nil || res.RowsAffected == 0 {
		return nil, errs.Wrap(res.Error, "whatsapp provider")
	}
	var byContent map[string]channels.Template
	if err := json.Unmarshal([]byte(acct.Templates), &byContent); err != nil {
		return nil, errs.Wrap(err, "provider templates") // the channel layer checks them when they are set
	}
	out := make([]Template, 0, len(byContent))
	for contentSid, t := range byContent {
		out = append(out, Template{ContentSid: contentSid, Name: t.Name, Language: t.Language})
	}
	slices.SortFunc(out, func(x, y Template) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Language, y.Language), cmp.Compare(x.ContentSid, y.ContentSid))
	})
	return out, nil
}

// SendTemplate sends one of the sender's templates into a WhatsApp
// conversation the agent is working, with its variables in order ({{1}},
// {{2}}…). The agent is the author, as for any reply.
func (s *Service) SendTemplate(ctx context.Context, a Agent, conversationSid, contentSid string, variables []string) error {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return err
	}
	if err := w.inConversation(); err != nil {
		return err
	}
	cust, ok, err := s.whatsappCustomerOf(ctx, w)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Invalidf("Templates are for WhatsApp conversations; this one has no WhatsApp customer")
	}
	templates, err := s.senderTemplates(ctx, cust.proxyAddress)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(templates, func(t Template) bool { return t.ContentSid == contentSid }) {
		return errs.Invalidf("Template %q is not one of this WhatsApp sender's templates", contentSid)
	}
	for len(variables) > 0 && variables[len(variables)-1] == "" {
		variables = variables[:len(variables)-1]
	}
	if len(variables) > MaxTemplateVariables {
		return errs.Invalidf("A template takes at most %d variables", MaxTemplateVariables)
	}
	vars := map[string]string{}
	for i, v := range variables {
		if v == "" {
			return errs.Invalidf("Variable {{%d}} is empty: fill it or the ones after it", i+1)
		}
		if utf8.RuneCountInString(v) > channels.MaxOutboundBody {
			return errs.Invalidf("Variable {{%d}} is longer than %d characters", i+1, channels.MaxOutboundBody)
		}
		vars[strconv.Itoa(i+1)] = v
	}
	p := conversations.MessageParams{Author: &a.Identity, ContentSid: &contentSid, Source: "SDK"}
	if len(vars) > 0 {
		encoded, _ := json.Marshal(vars) // strings only: cannot fail
		v := string(encoded)
		p.ContentVariables = &v
	}
	ctx = conversations.WithOrigin(ctx, conversations.Origin{ClientIdentity: a.Identity})
	_, err = s.conv.AddMessage(ctx, w.conversation.ServiceSid, w.conversation.Sid, p)
	return err
}
