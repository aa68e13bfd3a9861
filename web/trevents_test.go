package web_test

import (
	"slices"
	"testing"
	"time"

	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func eventTypesOf(evs []trv1.TaskrouterV1Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = *ev.EventType
	}
	return out
}

func TestEventsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		d := newTrDay(t, s)
		base := s.URL + "/v1/Workspaces/" + d.sid

		all, err := tw.ListEvent(d.sid, (&trv1.ListEventParams{}).SetPageSize(3))
		if err != nil {
			t.Fatal(err)
		}
		types := eventTypesOf(all)
		for _, want := range []string{"worker.created", "task.created", "reservation.created", "reservation.accepted", "task.canceled"} {
			if !slices.Contains(types, want) {
				t.Errorf("the last fifteen minutes (%v) lack %s", types, want)
			}
		}
		if !slices.IsSortedFunc(all, func(a, b trv1.TaskrouterV1Event) int { return a.EventDate.Compare(*b.EventDate) }) {
			t.Errorf("events are not oldest first: %v", types)
		}

		accepted, err := tw.ListEvent(d.sid, (&trv1.ListEventParams{}).SetEventType("reservation.accepted"))
		if err != nil || len(accepted) != 1 {
			t.Fatalf("acceptances = %v, %v", eventTypesOf(accepted), err)
		}
		ev := accepted[0]
		data, _ := (*ev.EventData).(map[string]any)
		reservation, _ := data["reservation_sid"].(string)
		if *ev.AccountSid != s.AccountSid || *ev.WorkspaceSid != d.sid || *ev.Url != base+"/Events/"+*ev.Sid || len(*ev.Sid) != 34 ||
			*ev.ResourceType != "reservation" || *ev.ResourceSid != reservation ||
			*ev.ResourceUrl != base+"/Tasks/"+d.accepted+"/Reservations/"+reservation || *ev.Source != "switchboard" ||
			!ev.EventDate.Equal(time.Date(2026, 3, 4, 10, 1, 7, 0, time.UTC)) || *ev.EventDateMs != ev.EventDate.UnixMilli() ||
			data["task_sid"] != d.accepted || data["worker_sid"] != d.alice || data["task_queue_sid"] != d.queue ||
			ev.ActorSid != nil || ev.SourceIpAddress != nil {
			t.Errorf("acceptance = %+v, data %v", ev, data)
		}
		fetched, err := tw.FetchEvent(d.sid, *ev.Sid)
		if err != nil || *fetched.Sid != *ev.Sid || *fetched.EventType != "reservation.accepted" {
			t.Errorf("fetched = %+v, %v", fetched, err)
		}

		for name, c := range map[string]struct {
			params *trv1.ListEventParams
			want   []string
		}{
			"task":   {(&trv1.ListEventParams{}).SetTaskSid(d.canceled).SetEventType("task.canceled"), []string{"task.canceled"}},
			"worker": {(&trv1.ListEventParams{}).SetWorkerSid(d.bob), []string{"worker.created"}},
			"reservation": {(&trv1.ListEventParams{}).SetReservationSid(reservation),
				[]string{"reservation.created", "reservation.accepted"}},
			"queue":          {(&trv1.ListEventParams{}).SetTaskQueueSid(d.queue).SetEventType("reservation.accepted"), []string{"reservation.accepted"}},
			"workflow":       {(&trv1.ListEventParams{}).SetWorkflowSid(d.workflow).SetEventType("task.created"), []string{"task.created", "task.created"}},
			"channel":        {(&trv1.ListEventParams{}).SetTaskChannel("sms"), []string{}},
			"sid":            {(&trv1.ListEventParams{}).SetSid(*ev.Sid), []string{"reservation.accepted"}},
			"before the day": {(&trv1.ListEventParams{}).SetEndDate(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)), []string{}},
			"the first minute": {(&trv1.ListEventParams{}).SetStartDate(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)).
				SetEndDate(time.Date(2026, 3, 4, 10, 0, 59, 0, time.UTC)), []string{"worker.created", "worker.created"}},
			"the last minute": {(&trv1.ListEventParams{}).SetMinutes(1).SetEventType("task.canceled"), []string{"task.canceled"}},
		} {
			got, err := tw.ListEvent(d.sid, c.params)
			if err != nil || !slices.Equal(eventTypesOf(got), c.want) {
				t.Errorf("by %s: %v, %v; want %v", name, eventTypesOf(got), err, c.want)
			}
		}

		_, err = tw.FetchEvent(d.sid, "EV00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.ListEvent(d.sid, (&trv1.ListEventParams{}).SetMinutes(5).SetEndDate(d.now))
		wantMessage(t, err, 20001, 400, "Minutes")
		_, err = tw.ListEvent("WS00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
	})
}
