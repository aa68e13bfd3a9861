package conversations_test

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

const flowSid = "FW0123456789abcdef0123456789abcdef"

func (f fixture) address(t *testing.T, p conversations.AddressConfigurationParams) conversations.AddressConfiguration {
	t.Helper()
	a, err := f.e.CreateAddressConfiguration(f.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func smsAddress(addr string) conversations.AddressConfigurationParams {
	return conversations.AddressConfigurationParams{Type: ptr("sms"), Address: ptr(addr)}
}

func TestAddressConfigurationIsFoundBySidAddressAndInboundAddress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a := f.address(t, conversations.AddressConfigurationParams{Type: ptr("WhatsApp"), Address: ptr("whatsapp:+15550001111"),
			FriendlyName: ptr("Support line"), AddressCountry: ptr("us"), AutoCreationEnabled: ptr(true),
			AutoCreationType: ptr("Webhook"), AutoCreationWebhookURL: ptr("https://bot.example.com/hook"),
			AutoCreationWebhookFilters: []string{"onMessageAdded", "onMessageAdded", "onParticipantAdded"}})
		if a.Type != "whatsapp" || a.AddressCountry != "US" || a.AutoCreationType != conversations.AutoCreationWebhook ||
			a.AutoCreationWebhookMethod != "POST" || strings.Join(a.WebhookFilterList(), ",") != "onMessageAdded,onParticipantAdded" {
			t.Fatalf("created %+v: want type and country normalised, POST by default, filters deduplicated", a)
		}
		for _, key := range []string{a.Sid, "whatsapp:+15550001111"} {
			got, err := f.e.AddressConfiguration(f.ctx, key)
			if err != nil || got.Sid != a.Sid {
				t.Fatalf("fetch %s = %+v, %v", key, got, err)
			}
		}
		got, ok, err := f.e.AddressConfigurationFor(f.ctx, "whatsapp:+15550001111")
		if err != nil || !ok || got.Sid != a.Sid || !got.AutoCreationEnabled {
			t.Fatalf("AddressConfigurationFor = %+v, %v, %v", got, ok, err)
		}
		if _, ok, err := f.e.AddressConfigurationFor(f.ctx, "+15550001111"); ok || err != nil {
			t.Fatalf("an sms number matched a whatsapp configuration: %v, %v", ok, err)
		}
	})
}

func TestAnAddressHasOneConfiguration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.address(t, smsAddress("+15550001111"))
		_, err := f.e.CreateAddressConfiguration(f.ctx, smsAddress("+15550001111"))
		wantKind(t, err, errs.Conflict, errs.CodeInvalidParam)
		if n := count(t, d, "address_configurations", "1 = 1"); n != 1 {
			t.Fatalf("%d configurations after the duplicate, want 1", n)
		}
	})
}

func TestAddressConfigurationRejectsBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		with := func(change func(p *conversations.AddressConfigurationParams)) conversations.AddressConfigurationParams {
			p := smsAddress("+15550001111")
			change(&p)
			return p
		}
		long := strings.Repeat("x", 257)
		cases := []struct {
			name string
			p    conversations.AddressConfigurationParams
			code int
		}{
			{"type missing", with(func(p *conversations.AddressConfigurationParams) { p.Type = nil }), errs.CodeInvalidParam},
			{"type unknown", with(func(p *conversations.AddressConfigurationParams) { p.Type = ptr("fax") }), errs.CodeInvalidParam},
			{"address missing", with(func(p *conversations.AddressConfigurationParams) { p.Address = nil }), errs.CodeInvalidParam},
			{"sms address not E.164", with(func(p *conversations.AddressConfigurationParams) { p.Address = ptr("5550001111") }), errs.CodeInvalidParam},
			{"whatsapp address without prefix", with(func(p *conversations.AddressConfigurationParams) { p.Type = ptr("whatsapp") }), errs.CodeInvalidParam},
			{"sms type with a whatsapp address", with(func(p *conversations.AddressConfigurationParams) { p.Address = ptr("whatsapp:+15550001111") }), errs.CodeInvalidParam},
			{"address too long", with(func(p *conversations.AddressConfigurationParams) { p.Type, p.Address = ptr("chat"), ptr(long) }), errs.CodeInvalidParam},
			{"friendly name too long", with(func(p *conversations.AddressConfigurationParams) { p.FriendlyName = ptr(long) }), errs.CodeInvalidParam},
			{"country not alpha-2", with(func(p *conversations.AddressConfigurationParams) { p.AddressCountry = ptr("USA") }), errs.CodeInvalidParam},
			{"auto-creation type unknown", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationType = ptr("flex") }), errs.CodeInvalidParam},
			{"service does not exist", with(func(p *conversations.AddressConfigurationParams) {
				p.AutoCreationServiceSid = ptr("IS00000000000000000000000000000000")
			}), errs.CodeInvalidParam},
			{"webhook URL relative", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationWebhookURL = ptr("/hook") }), errs.CodeInvalidParam},
			{"webhook URL not http", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationWebhookURL = ptr("ftp://example.com") }), errs.CodeInvalidParam},
			{"webhook method PUT", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationWebhookMethod = ptr("put") }), errs.CodeInvalidParam},
			{"webhook filter is a pre-event", with(func(p *conversations.AddressConfigurationParams) {
				p.AutoCreationWebhookFilters = []string{"onMessageAdd"}
			}), conversations.CodeBadWebhookFilter},
			{"flow SID malformed", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationStudioFlowSid = ptr("FW123") }), errs.CodeInvalidParam},
			{"retry count above 3", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationStudioRetryCount = ptr[int64](4) }), errs.CodeInvalidParam},
			{"retry count negative", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationStudioRetryCount = ptr[int64](-1) }), errs.CodeInvalidParam},
			{"webhook auto-creation without URL", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationType = ptr("webhook") }), errs.CodeInvalidParam},
			{"studio auto-creation without flow", with(func(p *conversations.AddressConfigurationParams) { p.AutoCreationType = ptr("studio") }), errs.CodeInvalidParam},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.CreateAddressConfiguration(f.ctx, tc.p)
				wantKind(t, err, errs.Invalid, tc.code)
			})
		}
		if n := count(t, d, "address_configurations", "1 = 1"); n != 0 {
			t.Fatalf("%d configurations written by rejected requests", n)
		}
	})
}

func TestAddressConfigurationUpdateCannotChangeTypeAddressOrCountry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc := f.newService(t, "Sales")
		a := f.address(t, conversations.AddressConfigurationParams{Type: ptr("sms"), Address: ptr("+15550001111"),
			AddressCountry: ptr("US"), FriendlyName: ptr("before")})
		for name, p := range map[string]conversations.AddressConfigurationParams{
			"type":                {Type: ptr("whatsapp"), FriendlyName: ptr("after")},
			"address":             {Address: ptr("+15550002222"), FriendlyName: ptr("after")},
			"country":             {AddressCountry: ptr("CA"), FriendlyName: ptr("after")},
			"studio without flow": {AutoCreationType: ptr("studio"), FriendlyName: ptr("after")},
		} {
			_, err := f.e.UpdateAddressConfiguration(f.ctx, a.Sid, p)
			if errs.CodeOf(err) != errs.CodeInvalidParam {
				t.Fatalf("update of %s: %v, want 20001", name, err)
			}
		}
		if got, _ := f.e.AddressConfiguration(f.ctx, a.Sid); got.FriendlyName != "before" {
			t.Fatalf("a rejected update changed the configuration: %+v", got)
		}
		up, err := f.e.UpdateAddressConfiguration(f.ctx, "+15550001111", conversations.AddressConfigurationParams{
			Type: ptr("SMS"), AddressCountry: ptr("us"), FriendlyName: ptr("after"), AutoCreationEnabled: ptr(true),
			AutoCreationType: ptr("studio"), AutoCreationStudioFlowSid: ptr(flowSid), AutoCreationStudioRetryCount: ptr[int64](3),
			AutoCreationServiceSid: &svc.Sid,
		})
		if err != nil {
			t.Fatalf("update restating type and country and switching to studio: %v", err)
		}
		if up.FriendlyName != "after" || up.AutoCreationType != "studio" || up.AutoCreationStudioRetryCount != 3 ||
			up.AutoCreationServiceSid != svc.Sid || up.Type != "sms" || up.AddressCountry != "US" || up.DateUpdated.Before(a.DateUpdated) {
			t.Fatalf("updated = %+v", up)
		}
		got, _ := f.e.AddressConfiguration(f.ctx, a.Sid)
		if got.AutoCreationStudioFlowSid != flowSid || !got.DateCreated.Equal(a.DateCreated) {
			t.Fatalf("stored = %+v", got)
		}
	})
}

func TestAddressConfigurationListFiltersByTypeAndPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		for _, addr := range []string{"+15550000001", "+15550000002", "+15550000003", "whatsapp:+15550000004", "whatsapp:+15550000005"} {
			typ := "sms"
			if strings.HasPrefix(addr, "whatsapp:") {
				typ = "whatsapp"
			}
			f.address(t, conversations.AddressConfigurationParams{Type: &typ, Address: &addr})
		}
		wa, more, err := f.e.AddressConfigurations(f.ctx, "WHATSAPP", conversations.Page{Limit: 50})
		if err != nil || more || len(wa) != 2 || wa[0].Type != "whatsapp" || wa[1].Type != "whatsapp" {
			t.Fatalf("whatsapp list = %+v, more %v, %v", wa, more, err)
		}
		seen := map[string]bool{}
		for off, want := range map[int]struct {
			n    int
			more bool
		}{0: {2, true}, 2: {2, true}, 4: {1, false}} {
			rows, more, err := f.e.AddressConfigurations(f.ctx, "", conversations.Page{Offset: off, Limit: 2})
			if err != nil || len(rows) != want.n || more != want.more {
				t.Fatalf("page at %d = %d rows, more %v (%v), want %d, %v", off, len(rows), more, err, want.n, want.more)
			}
			for _, r := range rows {
				seen[r.Sid] = true
			}
		}
		if len(seen) != 5 {
			t.Fatalf("pages covered %d configurations, want 5", len(seen))
		}
		_, _, err = f.e.AddressConfigurations(f.ctx, "fax", conversations.Page{Limit: 50})
		wantKind(t, err, errs.Invalid, errs.CodeInvalidParam)
	})
}

func TestDeletedAddressConfigurationNoLongerMatchesInbound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a := f.address(t, smsAddress("+15550001111"))
		if err := f.e.DeleteAddressConfiguration(f.ctx, "+15550001111"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := f.e.AddressConfigurationFor(f.ctx, "+15550001111"); ok || err != nil {
			t.Fatalf("deleted configuration still matches: %v, %v", ok, err)
		}
		_, err := f.e.AddressConfiguration(f.ctx, a.Sid)
		wantKind(t, err, errs.NotFound, errs.CodeNotFound)
		wantKind(t, f.e.DeleteAddressConfiguration(f.ctx, a.Sid), errs.NotFound, errs.CodeNotFound)
		f.address(t, smsAddress("+15550001111")) // the address is free again
	})
}
