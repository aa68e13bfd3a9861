package conversations_test

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// newService creates a service beside the default one.
func (f fixture) newService(t *testing.T, name string) conversations.Service {
	t.Helper()
	svc, err := f.e.CreateService(f.ctx, ptr(name))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// wantKind asserts err is of the given kind and carries the Twilio code.
func wantKind(t *testing.T, err error, kind errs.Kind, code int) {
	t.Helper()
	wantCode(t, err, code)
	if got := errs.KindOf(err); got != kind {
		t.Fatalf("error %q has kind %d, want %d", err, got, kind)
	}
}

// count counts the rows of table matching where.
func count(t *testing.T, d *db.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := d.Gorm.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestANewServiceGetsTwilioDefaultRolesAsItsDefaults(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc := f.newService(t, "Support")
		roles, more, err := f.e.Roles(f.ctx, svc.Sid, conversations.Page{Limit: 50})
		if err != nil || more || len(roles) != 4 {
			t.Fatalf("roles = %d, more %v, %v", len(roles), more, err)
		}
		types := map[string]string{}
		for _, r := range roles {
			types[r.Sid] = r.Type
		}
		if types[svc.DefaultConversationCreatorRoleSid] != conversations.RoleTypeConversation ||
			types[svc.DefaultConversationRoleSid] != conversations.RoleTypeConversation ||
			types[svc.DefaultChatServiceRoleSid] != conversations.RoleTypeService {
			t.Fatalf("defaults %+v do not point at the right kinds of role %v", svc, types)
		}
	})
}

func TestCreateServiceNeedsAFriendlyNameOfAtMost256Characters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		_, err := f.e.CreateService(f.ctx, nil)
		wantCode(t, err, errs.CodeInvalidParam)
		_, err = f.e.CreateService(f.ctx, ptr(strings.Repeat("x", 257)))
		wantCode(t, err, errs.CodeInvalidParam)
		if n := count(t, d, "services", "1 = 1"); n != 1 {
			t.Fatalf("rejected creates left %d services, want only the default", n)
		}
		if _, err := f.e.CreateService(f.ctx, ptr(strings.Repeat("é", 256))); err != nil {
			t.Fatalf("256 characters are allowed: %v", err)
		}
	})
}

func TestDeletingAServiceRemovesEverythingInItAndNothingElse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc := f.newService(t, "Doomed")
		// Fill both the doomed service and the default one the same way.
		for _, s := range []string{svc.Sid, f.service} {
			c, err := f.e.CreateConversation(f.ctx, s, conversations.ConversationParams{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.e.AddParticipant(f.ctx, s, c.Sid, chat("alice")); err != nil {
				t.Fatal(err)
			}
			proxy := map[string]string{svc.Sid: "+15005550006", f.service: "+15005550007"}[s]
			p, err := f.e.AddParticipant(f.ctx, s, c.Sid, sms("+15551230000", proxy))
			if err != nil {
				t.Fatal(err)
			}
			m, err := f.e.AddMessage(f.ctx, s, c.Sid, conversations.MessageParams{Body: ptr("hi")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.e.RecordReceipt(f.ctx, m.Sid, p.Sid, "SM1", "delivered", 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.e.CreateRole(f.ctx, s, conversations.RoleParams{FriendlyName: ptr("extra"),
				Type: ptr(conversations.RoleTypeConversation), Permissions: []string{"sendMessage"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.e.UpdateWebhookConfig(f.ctx, s, conversations.WebhookConfigParams{PostWebhookURL: ptr("https://example.com/hook")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.e.DeleteService(f.ctx, svc.Sid); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"conversations", "participants", "messages", "delivery_receipts", "users", "roles"} {
			if n := count(t, d, table, "service_sid = ?", svc.Sid); n != 0 {
				t.Errorf("%d %s of the deleted service remain", n, table)
			}
			if n := count(t, d, table, "service_sid = ?", f.service); n == 0 {
				t.Errorf("deleting another service removed the default service's %s", table)
			}
		}
		if n := count(t, d, "bindings", "proxy_address = ?", "+15005550006"); n != 0 {
			t.Errorf("the deleted service's binding remains")
		}
		if n := count(t, d, "webhook_configs", "scope = ?", svc.Sid); n != 0 {
			t.Errorf("the deleted service's webhook configuration remains")
		}
		_, err := f.e.ResolveService(f.ctx, svc.Sid)
		wantKind(t, err, errs.NotFound, errs.CodeNotFound)
		wantKind(t, f.e.DeleteService(f.ctx, svc.Sid), errs.NotFound, errs.CodeNotFound)
	})
}

func TestTheDefaultServiceCannotBeDeletedUntilAnotherIsTheDefault(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		wantKind(t, f.e.DeleteService(f.ctx, f.service), errs.Conflict, errs.CodeInvalidParam)
		if _, err := f.e.ResolveService(f.ctx, f.service); err != nil {
			t.Fatalf("the refused delete removed the service: %v", err)
		}
		other := f.newService(t, "Next default")
		if _, err := f.e.UpdateConfiguration(f.ctx, conversations.ConfigurationParams{DefaultChatServiceSid: &other.Sid}); err != nil {
			t.Fatal(err)
		}
		if def, _ := f.e.ResolveService(f.ctx, ""); def.Sid != other.Sid {
			t.Fatalf("default service = %s, want %s", def.Sid, other.Sid)
		}
		if err := f.e.DeleteService(f.ctx, f.service); err != nil {
			t.Fatalf("the former default is an ordinary service: %v", err)
		}
	})
}

func TestAServiceThatAddressesAutocreateInCannotBeDeleted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc := f.newService(t, "Inbound")
		if err := d.Gorm.Exec(`INSERT INTO address_configurations (sid, type, address, auto_creation_enabled,
			auto_creation_service_sid, date_created, date_updated) VALUES (?, 'sms', '+15005550009', TRUE, ?, ?, ?)`,
			"IG00000000000000000000000000000001", svc.Sid, svc.DateCreated, svc.DateCreated).Error; err != nil {
			t.Fatal(err)
		}
		err := f.e.DeleteService(f.ctx, svc.Sid)
		wantKind(t, err, errs.Conflict, errs.CodeInvalidParam)
		if !strings.Contains(err.Error(), "IG00000000000000000000000000000001") {
			t.Fatalf("the error does not name the address configuration: %v", err)
		}
	})
}

func TestServiceDefaultRolesMustBeRolesOfTheRightTypeInThatService(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc := f.newService(t, "Support")
		other, _ := f.e.ResolveService(f.ctx, "")
		bad := []conversations.ServiceConfigParams{
			{DefaultConversationRoleSid: &svc.DefaultChatServiceRoleSid},            // a service role
			{DefaultChatServiceRoleSid: &svc.DefaultConversationRoleSid},            // a conversation role
			{DefaultConversationCreatorRoleSid: ptr("admin")},                       // not a SID
			{DefaultConversationRoleSid: &other.DefaultConversationRoleSid},         // another service's role
			{DefaultConversationRoleSid: ptr("RL00000000000000000000000000000000")}, // no such role
		}
		codes := []int{20001, 20001, 20001, 20404, 20404}
		for i, p := range bad {
			_, err := f.e.UpdateServiceConfiguration(f.ctx, svc.Sid, p)
			wantCode(t, err, codes[i])
		}
		if got, _ := f.e.ResolveService(f.ctx, svc.Sid); got.DefaultConversationRoleSid != svc.DefaultConversationRoleSid ||
			got.DefaultChatServiceRoleSid != svc.DefaultChatServiceRoleSid ||
			got.DefaultConversationCreatorRoleSid != svc.DefaultConversationCreatorRoleSid {
			t.Fatalf("rejected updates changed the service: %+v", got)
		}

		agent, err := f.e.CreateRole(f.ctx, svc.Sid, conversations.RoleParams{FriendlyName: ptr("agent"),
			Type: ptr(conversations.RoleTypeService), Permissions: []string{"createConversation"}})
		if err != nil {
			t.Fatal(err)
		}
		up, err := f.e.UpdateServiceConfiguration(f.ctx, svc.Sid, conversations.ServiceConfigParams{
			DefaultChatServiceRoleSid: &agent.Sid, ReachabilityEnabled: ptr(true)})
		if err != nil || up.DefaultChatServiceRoleSid != agent.Sid || !up.ReachabilityEnabled {
			t.Fatalf("update = %+v, %v", up, err)
		}
		u, err := f.e.CreateUser(f.ctx, svc.Sid, conversations.UserParams{Identity: ptr("alice")})
		if err != nil || u.RoleSid != agent.Sid {
			t.Fatalf("a new user gets the new default role: %+v, %v", u, err)
		}
	})
}

func TestNotificationUpdatesChangeOnlyTheGivenSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		n, err := f.e.ServiceNotifications(f.ctx, f.service)
		if err != nil || n.LogEnabled || n.NewMessage.Enabled || n.NewMessage.Template != nil {
			t.Fatalf("a new service notifies nothing: %+v, %v", n, err)
		}
		if _, err := f.e.UpdateServiceNotifications(f.ctx, f.service, conversations.NotificationParams{
			NewMessageEnabled: ptr(true), NewMessageTemplate: ptr("${MESSAGE}"), NewMessageWithMediaEnabled: ptr(true),
			AddedToConversationSound: ptr("ring")}); err != nil {
			t.Fatal(err)
		}
		n, err = f.e.UpdateServiceNotifications(f.ctx, f.service, conversations.NotificationParams{
			LogEnabled: ptr(true), AddedToConversationSound: ptr("")})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := f.e.ServiceNotifications(f.ctx, f.service)
		if !got.LogEnabled || !got.NewMessage.Enabled || got.NewMessage.Template == nil || *got.NewMessage.Template != "${MESSAGE}" ||
			!got.NewMessage.WithMedia.Enabled || got.AddedToConversation.Sound != nil || got.AddedToConversation.Enabled {
			t.Fatalf("notifications = %+v (update returned %+v)", got, n)
		}
	})
}

func TestAccountConfigurationIsValidatedAndAppliesToNewConversations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		before, _ := f.e.Configuration(f.ctx)
		for _, tc := range []struct {
			p    conversations.ConfigurationParams
			code int
		}{
			{conversations.ConfigurationParams{DefaultChatServiceSid: ptr("IS00000000000000000000000000000000")}, 20404},
			{conversations.ConfigurationParams{DefaultChatServiceSid: ptr("default")}, 20001},
			{conversations.ConfigurationParams{DefaultMessagingServiceSid: ptr("PN00000000000000000000000000000000")}, 20001},
			{conversations.ConfigurationParams{DefaultInactiveTimer: ptr("PT30S")}, 20001},
			{conversations.ConfigurationParams{DefaultClosedTimer: ptr("PT9M")}, 20001},
			{conversations.ConfigurationParams{DefaultClosedTimer: ptr("ten minutes")}, 20001},
		} {
			_, err := f.e.UpdateConfiguration(f.ctx, tc.p)
			wantCode(t, err, tc.code)
		}
		if after, _ := f.e.Configuration(f.ctx); after != before {
			t.Fatalf("rejected updates changed the configuration: %+v", after)
		}
		mg := "MG00000000000000000000000000000001"
		cfg, err := f.e.UpdateConfiguration(f.ctx, conversations.ConfigurationParams{DefaultMessagingServiceSid: &mg,
			DefaultInactiveTimer: ptr("PT1M"), DefaultClosedTimer: ptr("PT10M")})
		if err != nil || cfg.DefaultMessagingServiceSid != mg || cfg.DefaultInactiveTimer != "PT1M" || cfg.DefaultChatServiceSid != f.service {
			t.Fatalf("configuration = %+v, %v", cfg, err)
		}
		c := f.conversation(t, conversations.ConversationParams{})
		if c.MessagingServiceSid != mg || c.DateInactive == nil || c.DateClosed == nil {
			t.Fatalf("a new conversation does not take the defaults: %+v", c)
		}
		cfg, err = f.e.UpdateConfiguration(f.ctx, conversations.ConfigurationParams{DefaultMessagingServiceSid: ptr(""),
			DefaultInactiveTimer: ptr("")})
		if err != nil || cfg.DefaultMessagingServiceSid != "" || cfg.DefaultInactiveTimer != "" || cfg.DefaultClosedTimer != "PT10M" {
			t.Fatalf("clearing = %+v, %v", cfg, err)
		}
	})
}

func TestWebhookConfigurationRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, err := f.e.WebhookConfig(f.ctx, "")
		if err != nil || w.Method != "POST" || len(w.FilterList()) != 0 || w.Target != conversations.WebhookTargetWebhook {
			t.Fatalf("unset global configuration = %+v, %v", w, err)
		}
		for _, tc := range []struct {
			name  string
			scope string
			p     conversations.WebhookConfigParams
			code  int
		}{
			{"unknown filter", "", conversations.WebhookConfigParams{Filters: []string{"onMessageAdded", "onMessageSent"}}, 50365},
			{"user events are global only", f.service, conversations.WebhookConfigParams{Filters: []string{"onUserAdded"}}, 50365},
			{"relative URL", "", conversations.WebhookConfigParams{PreWebhookURL: ptr("/hook")}, 20001},
			{"ftp URL", f.service, conversations.WebhookConfigParams{PostWebhookURL: ptr("ftp://example.com/hook")}, 20001},
			{"bad method", "", conversations.WebhookConfigParams{Method: ptr("PUT")}, 20001},
			{"bad target", "", conversations.WebhookConfigParams{Target: ptr("studio")}, 20001},
			{"target on a service", f.service, conversations.WebhookConfigParams{Target: ptr("flex")}, 20001},
		} {
			_, err := f.e.UpdateWebhookConfig(f.ctx, tc.scope, tc.p)
			if err == nil {
				t.Fatalf("%s: accepted", tc.name)
			}
			wantCode(t, err, tc.code)
		}
		if n := count(t, d, "webhook_configs", "1 = 1"); n != 0 {
			t.Fatalf("rejected updates wrote %d webhook configurations", n)
		}
		_, err = f.e.UpdateWebhookConfig(f.ctx, "IS00000000000000000000000000000000", conversations.WebhookConfigParams{})
		wantCode(t, err, errs.CodeNotFound)

		w, err = f.e.UpdateWebhookConfig(f.ctx, "", conversations.WebhookConfigParams{Method: ptr("get"),
			Filters: []string{"onuseradded", "onMessageAdd", "onMessageAdd"}, PreWebhookURL: ptr("https://example.com/pre"),
			Target: ptr("flex")})
		if err != nil || w.Method != "GET" || w.Target != "flex" || w.PreWebhookURL != "https://example.com/pre" ||
			strings.Join(w.FilterList(), ",") != "onUserAdded,onMessageAdd" {
			t.Fatalf("global = %+v, %v", w, err)
		}
		w, err = f.e.UpdateWebhookConfig(f.ctx, "", conversations.WebhookConfigParams{Filters: []string{""}, PreWebhookURL: ptr("")})
		if err != nil || len(w.FilterList()) != 0 || w.PreWebhookURL != "" || w.Method != "GET" {
			t.Fatalf("clearing = %+v, %v", w, err)
		}
		svc, err := f.e.UpdateWebhookConfig(f.ctx, f.service, conversations.WebhookConfigParams{PostWebhookURL: ptr("http://example.com/post")})
		if err != nil || svc.PostWebhookURL != "http://example.com/post" {
			t.Fatalf("service = %+v, %v", svc, err)
		}
		if g, _ := f.e.WebhookConfig(f.ctx, ""); g.PostWebhookURL != "" {
			t.Fatalf("the service configuration leaked into the global one: %+v", g)
		}
	})
}
