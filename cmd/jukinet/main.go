// Command jukinet runs a Juki-net node. See README.md, or jukinet --help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"jukinet/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
