package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/behalf-dev/behalf/shared/config"
	"github.com/behalf-dev/behalf/shared/funchost"
	"github.com/behalf-dev/behalf/shared/lambdahost"
)

// lambdaRuntimeAPI is set by AWS Lambda in every function's environment;
// started as bootstrap with no arguments, behalf runs as a Lambda function
// when it is present.
const lambdaRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"

// cmdLambda runs behalf as an AWS Lambda function (provided.al2023, this
// binary installed as bootstrap): API Gateway HTTP API requests and
// EventBridge schedules, the same functions as under the Functions host.
func cmdLambda(ctx context.Context, args []string, stdout io.Writer, lookup func(string) (string, bool)) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: behalf lambda takes no arguments", errUsage)
	}
	if v, ok := lookup(lambdaRuntimeAPI); !ok || v == "" {
		return fmt.Errorf("%s is not set: behalf lambda runs only inside AWS Lambda (use behalf serve elsewhere)", lambdaRuntimeAPI)
	}
	lookup, err := lambdaSecrets(ctx, lookup, os.Environ(), newSecretsManager)
	if err != nil {
		return err
	}
	h, closeApp, err := newLambdaHandler(ctx, lookup, stdout)
	if err != nil {
		return err
	}
	// Lambda sends SIGTERM before it shuts an environment down (when an
	// extension is registered); closing flushes what the app buffers.
	lambda.StartWithOptions(h, lambda.WithContext(ctx), lambda.WithEnableSIGTERM(func() { closeApp(context.WithoutCancel(ctx)) }))
	return errors.New("the Lambda runtime loop ended")
}

func newSecretsManager(ctx context.Context) (lambdahost.SecretSource, error) {
	return lambdahost.NewSecretsManager(ctx)
}

// lambdaSecrets resolves NAME_SECRET_ARN references to Secrets Manager
// (Lambda has no Key Vault references), before the configuration is read.
func lambdaSecrets(ctx context.Context, lookup func(string) (string, bool), environ []string,
	newSource func(context.Context) (lambdahost.SecretSource, error)) (func(string) (string, bool), error) {
	return lambdahost.ResolveSecrets(ctx, lambdahost.SecretsConfig{
		Settings: lambdahost.SecretSettings(config.Settings()), Lookup: lookup, Environ: environ, NewSource: newSource,
	})
}

// newLambdaHandler builds the app exactly as serve does and wraps it for
// Lambda. The returned func closes the app.
func newLambdaHandler(ctx context.Context, lookup func(string) (string, bool), stdout io.Writer) (*lambdahost.Handler, func(context.Context), error) {
	cfg, err := config.Load(lookup)
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(cfg, stdout)
	a, err := newApp(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*lambdahost.Handler, func(context.Context), error) {
		a.close(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	hh, err := a.handler(cfg)
	if err != nil {
		return fail(err)
	}
	fns, err := funchost.LoadFunctions(FunctionFiles())
	if err != nil {
		return fail(err)
	}
	if err := lambdaQueue(cfg.Queue, log); err != nil {
		return fail(err)
	}
	hc := lambdahost.Config{
		HTTP: hh, Functions: fns, Triggers: a.host.TriggerFunctions(),
		Lookup: settingOrDefault(lookup),
		// Lambda freezes the process between invocations: buffered audit
		// events are sent before each answer.
		Flush:  a.audit.Flush,
		Logger: log,
	}
	if cfg.Queue.Kind == "servicebus" {
		// Scheduled drains receive from the app's own namespace.
		hc.Queue = a.queues
	}
	h, err := lambdahost.New(hc)
	if err != nil {
		return fail(err)
	}
	log.Info("lambda handler ready", "functions", a.host.FunctionNames(), "schedules", h.TriggerNames(), "queue", cfg.Queue.Kind)
	return h, a.close, nil
}

// lambdaQueue checks the queue scheduled drains receive from. On AWS it is
// the Service Bus namespace reached with BEHALF_SERVICEBUS_CONNECTION_STRING
// (from Secrets Manager): Lambda has no Entra identity. The embedded queue
// is a file per Lambda instance, so it gets no drains, which only tests
// use.
func lambdaQueue(q config.Queue, log *slog.Logger) error {
	switch {
	case q.Kind != "servicebus":
		log.Warn("no shared queue on Lambda: scheduled queue drains will fail", "queue", q.Kind)
	case q.ConnectionString == "":
		return errors.New("on Lambda, Service Bus is reached with a connection string: set BEHALF_SERVICEBUS_CONNECTION_STRING_SECRET_ARN")
	}
	return nil
}

// settingOrDefault resolves %SETTING% in function.json as the Functions
// host does, falling back to the setting's documented default (the app
// reads the same value).
func settingOrDefault(lookup func(string) (string, bool)) func(string) (string, bool) {
	defaults := map[string]string{}
	for _, s := range config.Settings() {
		defaults[s.Name] = s.Default
	}
	return func(name string) (string, bool) {
		if v, ok := lookup(name); ok && v != "" {
			return v, true
		}
		d, ok := defaults[name]
		return d, ok && d != ""
	}
}
