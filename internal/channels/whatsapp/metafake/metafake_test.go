package metafake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channels/whatsapp/metafake"
)

// post sends a raw request to the fake's messages endpoint.
func post(t *testing.T, f *metafake.Server, path, token, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.BaseURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &answer); err != nil {
		t.Fatalf("answer %q is not JSON: %v", data, err)
	}
	return resp.StatusCode, answer
}

const messagesPath = "/" + metafake.DefaultPhoneNumberID + "/messages"

func TestTheFakeRefusesWhatMetaWouldRefuse(t *testing.T) {
	const tok = metafake.DefaultAccessToken
	cases := []struct {
		name         string
		path, token  string
		contentType  string
		body         string
		status, code int
		problemSays  string
	}{
		{"no bearer token", messagesPath, "", "application/json", `{}`, 401, 190, "OAuth"},
		{"a wrong bearer token", messagesPath, "nope", "application/json", `{}`, 401, 190, "OAuth"},
		{"an unknown phone number id", "/999/messages", tok, "application/json", `{}`, 400, 100, "'999' does not exist"},
		{"a form body", messagesPath, tok, "application/x-www-form-urlencoded", `to=1`, 400, 100, "must be JSON"},
		{"an unknown field", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"text","text":{"body":"x"},"body":"x"}`, 400, 100, "unknown field"},
		{"another messaging product", messagesPath, tok, "application/json", `{"messaging_product":"sms","to":"447700900123","type":"text","text":{"body":"x"}}`, 400, 100, "messaging_product"},
		{"a to with a plus", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"+447700900123","type":"text","text":{"body":"x"}}`, 400, 100, "digits"},
		{"a type without its object", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"image","text":{"body":"x"}}`, 400, 100, "text object"},
		{"an empty text", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"text","text":{"body":""}}`, 400, 100, "1 to 4096"},
		{"a caption on audio", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"audio","audio":{"link":"https://x.example/a.ogg","caption":"hi"}}`, 400, 100, "no caption"},
		{"a filename on an image", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"image","image":{"link":"https://x.example/a.jpg","filename":"a.jpg"}}`, 400, 100, "only documents"},
		{"a relative media link", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"image","image":{"link":"/a.jpg"}}`, 400, 100, "not an http(s) URL"},
		{"a template without a language", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"template","template":{"name":"t","language":{}}}`, 400, 100, "language.code"},
		{"a template parameter without text", messagesPath, tok, "application/json", `{"messaging_product":"whatsapp","to":"447700900123","type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"body","parameters":[{"type":"text","text":""}]}]}}`, 400, 100, "non-empty text"},
	}
	f := metafake.New(metafake.Config{})
	defer f.Close()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, answer := post(t, f, c.path, c.token, c.contentType, c.body)
			e, _ := answer["error"].(map[string]any)
			if status != c.status || e == nil || e["code"] != float64(c.code) || e["fbtrace_id"] == "" {
				t.Fatalf("answered %d %v, want %d with Meta's error code %d", status, answer, c.status, c.code)
			}
			ps := f.Problems()
			if len(ps) != i+1 || !strings.Contains(ps[i], c.problemSays) {
				t.Fatalf("problems %q, want a new one saying %q", ps, c.problemSays)
			}
		})
	}
	if n := len(f.Messages()); n != 0 {
		t.Errorf("recorded %d refused messages", n)
	}
}

func TestTheFakeAnswersAcceptedSendsLikeMeta(t *testing.T) {
	f := metafake.New(metafake.Config{})
	defer f.Close()
	status, answer := post(t, f, messagesPath, metafake.DefaultAccessToken, "application/json",
		`{"messaging_product":"whatsapp","recipient_type":"individual","to":"447700900123","type":"text","text":{"body":"hi"},"biz_opaque_callback_data":"DL1"}`)
	if status != 200 || answer["messaging_product"] != "whatsapp" {
		t.Fatalf("answered %d %v", status, answer)
	}
	id := answer["messages"].([]any)[0].(map[string]any)["id"].(string)
	contact := answer["contacts"].([]any)[0].(map[string]any)
	if !strings.HasPrefix(id, "wamid.") || contact["wa_id"] != "447700900123" || contact["input"] != "447700900123" {
		t.Fatalf("answer %v", answer)
	}
	ms, err := f.WaitMessages(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := ms[0]
	if m.ID != id || m.Ref != "DL1" || m.Text != "hi" || m.To != "447700900123" || m.PhoneNumberID != metafake.DefaultPhoneNumberID {
		t.Errorf("recorded %+v", m)
	}
	if st := m.Status("read"); st.MessageID != id || st.Ref != "DL1" || st.Recipient != "447700900123" {
		t.Errorf("status for the message = %+v", st)
	}
}

func TestTheFakeSignsAndShapesWebhooksLikeMeta(t *testing.T) {
	f := metafake.New(metafake.Config{Numbers: map[string]string{"1": "15550001111", "2": "15550002222"}})
	defer f.Close()
	if _, _, err := f.MessagesPayload(metafake.Inbound{From: "+447700900123", Text: "which number?"}); err == nil {
		t.Error("a message without PhoneNumberID was built though the fake has two numbers")
	}
	body, ids, err := f.MessagesPayload(
		metafake.Inbound{From: "+447700900123", Name: "Ada", PhoneNumberID: "2", Text: "one"},
		metafake.Inbound{From: "+447700900123", Name: "Ada", PhoneNumberID: "2", Text: "two"},
		metafake.Inbound{From: "+447700900456", Name: "Bob", PhoneNumberID: "1", Text: "three"},
	)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Object string
		Entry  []struct {
			Changes []struct {
				Field string
				Value struct {
					Metadata struct {
						DisplayPhoneNumber string `json:"display_phone_number"`
						PhoneNumberID      string `json:"phone_number_id"`
					}
					Contacts []struct {
						WaID string `json:"wa_id"`
					}
					Messages []struct{ ID, From, Type string }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	cs := p.Entry[0].Changes
	if p.Object != "whatsapp_business_account" || len(cs) != 2 ||
		cs[0].Value.Metadata.PhoneNumberID != "2" || cs[0].Value.Metadata.DisplayPhoneNumber != "15550002222" ||
		len(cs[0].Value.Messages) != 2 || len(cs[0].Value.Contacts) != 1 || cs[0].Value.Messages[1].ID != ids[1] ||
		cs[1].Value.Metadata.PhoneNumberID != "1" || cs[1].Value.Messages[0].From != "447700900456" {
		t.Errorf("payload %s", body)
	}
	// The vector from whatsapp_sdk's documentation (HMAC-SHA256 of "test" with "secret").
	const want = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
	if got := metafake.Sign("secret", []byte("test")); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}
