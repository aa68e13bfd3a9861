// Package loadgen is the measuring side of `make bench`: an open-loop
// pacer, latency recording from each message's intended send time, the
// matching of what an observer sees to what was sent, and the CPU and
// memory accounting of the processes taking part. It knows nothing of
// Switchboard: the system under test is reached through the Customer
// interface, so the same pacing and measurement can drive another
// system's message API.
package loadgen
