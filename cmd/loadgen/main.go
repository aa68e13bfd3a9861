// Command loadgen is Switchboard's benchmark: `loadgen bench` measures
// this machine's floors and then the server's hot paths against them, in
// one run (make bench). Its other commands are the processes the bench
// starts: `hold` keeps idle sockets open, `floor-server` is the raw fiber
// server the WebSocket floors are measured on. Everything runs on
// loopback, bounded in time, and stops by itself.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: loadgen <command> [flags]

commands:
  bench          measure the floors, then the server's hot paths; print the table, write bench.json
  hold           hold idle WebSocket connections (started by bench)
  floor-server   the raw fiber server the floors are measured against (started by bench)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dispatch(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "bench":
		return bench(ctx, args[1:])
	case "hold":
		return holdCmd(ctx, args[1:])
	case "floor-server":
		return floorServer(ctx, args[1:])
	case "-h", "--help", "help":
		fmt.Println(usage)
		return nil
	}
	fmt.Fprintln(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
