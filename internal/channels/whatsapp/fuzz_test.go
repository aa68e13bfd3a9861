package whatsapp_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// FuzzParse signs each fuzzed body so that the payload parser is reached:
// it must never panic, and it either refuses the body as invalid or returns
// a batch the channels service can store.
func FuzzParse(f *testing.F) {
	for _, c := range inboundCases {
		f.Add(envelope(messageValue(c.msg)))
	}
	for _, c := range malformedBodies {
		f.Add([]byte(c.body))
	}
	f.Add(envelope(`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"1"},` +
		`"statuses":[{"id":"wamid.A","status":"failed","timestamp":"1","recipient_id":"447700900123","biz_opaque_callback_data":"DL1",` +
		`"errors":[{"code":131047,"title":"Re-engagement message","error_data":{"details":"24 hours"}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":null}]}]}`))
	f.Add([]byte(`null`))
	p := parser(f)
	statuses := map[string]bool{channels.StatusSent: true, channels.StatusDelivered: true, channels.StatusRead: true, channels.StatusFailed: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := p.Parse(signedPost(body))
		if err != nil {
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("a signed body was refused with %v, want errs.Invalid", err)
			}
			return
		}
		if b.Reply != nil {
			t.Fatalf("a POST got a reply %+v", b.Reply)
		}
		for _, m := range b.Messages {
			if m.ExternalID == "" || !strings.HasPrefix(m.From, "whatsapp:+") || !strings.HasPrefix(m.To, "whatsapp:+") || m.Source != channels.SourceWhatsApp {
				t.Fatalf("inbound %+v lacks an id or an address", m)
			}
			if _, err := json.Marshal(m.Attributes); err != nil {
				t.Fatalf("attributes %v do not encode: %v", m.Attributes, err)
			}
			for _, md := range m.Media {
				if !strings.HasPrefix(md.URL, graph+"/") {
					t.Fatalf("media URL %q is not the account's Graph API", md.URL)
				}
			}
		}
		for _, s := range b.Statuses {
			if s.ExternalID == "" || !statuses[s.Status] {
				t.Fatalf("status %+v", s)
			}
		}
	})
}
