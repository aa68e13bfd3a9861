package taskrouter

import "github.com/switchboardhq/switchboard/internal/db"

// EventObserver runs inside the transaction that records a TaskRouter
// event, after the event row is written: whatever it keeps (a fact table of
// tasks, say) changes together with the event or not at all. An error
// aborts the change that caused the event.
type EventObserver func(tx *db.Tx, ev Event, data map[string]any) error

// OnEvent registers an event observer. Register observers before serving.
func (e *Engine) OnEvent(o EventObserver) { e.observers = append(e.observers, o) }

// observe hands ev to every registered observer inside tx.
func (e *Engine) observe(tx *db.Tx, ev Event, data map[string]any) error {
	for _, o := range e.observers {
		if err := o(tx, ev, data); err != nil {
			return err
		}
	}
	return nil
}
