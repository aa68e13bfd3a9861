// Package interactions is the task layer above the conversations engine:
// interactions, workspaces, workers, queues, workflows, tasks, reservations
// and the router. It listens to engine events and calls the engine through
// interfaces it declares itself; the engine never imports it.
package interactions
