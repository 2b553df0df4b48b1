// Command behalf is the function app: one binary that serves every behalf
// function as an Azure Functions custom handler (behalf serve), runs the
// offline product (behalf dev, in builds with the devstack tag), and
// carries the operator tools (config check, version).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

const usage = `behalf — Databricks on behalf of the signed-in person

Usage:
  behalf serve            serve every function (Azure Functions custom handler / standalone)
  behalf lambda           run as an AWS Lambda function (also: started with no arguments inside Lambda)
  behalf dev              run the whole product offline with emulators (make run)
  behalf config check     print every setting, what is missing and what is wrong
  behalf sql classify     classify SQL read from stdin as JSON Lines {"sql": "..."}
  behalf audit verify     check the audit hash chain: --store <sqlite file> or --export <folder or manifest>
  behalf version          print the version
`

// run dispatches a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	if len(args) == 0 {
		// Installed as a Lambda bootstrap, the binary is started bare.
		if v, ok := lookup(lambdaRuntimeAPI); ok && v != "" {
			args = []string{"lambda"}
		} else {
			fmt.Fprint(stderr, usage)
			return 2
		}
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, lookup)
	case "lambda":
		err = cmdLambda(ctx, args[1:], stdout, lookup)
	case "dev":
		err = cmdDev(ctx, args[1:], stdout, stderr, lookup)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			err = fmt.Errorf("%w: behalf config check", errUsage)
			break
		}
		return cmdConfigCheck(stdout, lookup)
	case "sql":
		err = cmdSQL(ctx, args[1:], os.Stdin, stdout, stderr)
	case "audit":
		err = cmdAudit(ctx, args[1:], stdout, stderr, lookup)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "behalf %s\n", version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "%v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "behalf %s: %v\n", args[0], err)
		return 1
	}
}
