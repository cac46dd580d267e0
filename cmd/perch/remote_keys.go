package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/client"
)

// runKeys: perch keys create|list|delete, managing a server's API keys
// (with the root key).
func runKeys(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch("keys", []subcommand{
		keyCreate(),
		listCmd("keys", lister[perch.Key]{
			list: func(c *client.Client) func(context.Context, perch.Filter) ([]*perch.Key, string, error) {
				return c.ListKeys
			},
			columns: []string{"ID", "NAME", "HINT", "STATE", "CREATED"},
			row: func(k *perch.Key) []string {
				name := cell(k.Name)
				if k.Root {
					name += " (root)"
				}
				return []string{k.ID, name, k.Hint, string(k.State), when(k.CreatedAt)}
			},
		}),
		keyPolicySet(),
		idCmd("keys", "delete", "revoke a key, by the ID keys list shows", func(c *client.Client) func(context.Context, string) (*perch.Key, error) {
			return c.DeleteKey
		}),
	}, args, stdin, stdout, stderr)
}

func keyCreate() subcommand {
	const usage = "perch keys create --name NAME [--policy FILE|admin|trainer|predictor|reader] [--aws]"
	return subcommand{"create", usage, "make an API key that may do what its policy allows; it is printed this once", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		name := fs.String("name", "", "what the key is for, as lists show it")
		policyArg := fs.String("policy", "", "what the key may do: a policy `FILE` (IAM's JSON) or a ready-made policy's name\n(admin, trainer, predictor, reader); none: nothing but read itself")
		aws := fs.Bool("aws", false, "make an access key pair for AML's protocol (boto3 and the AWS SDKs, SigV4),\nprinted in the AWS credentials-file format")
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if err := noArgs(pos, usage); err != nil {
			return err
		}
		if err := need("name", *name); err != nil {
			return err
		}
		p, err := policyJSON(*policyArg)
		if err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		if *aws {
			id, secret, _, err := c.CreateAWSKey(ctx, *name, p)
			if err != nil {
				return err
			}
			fmt.Fprintln(stderr, "the secret is shown this once; save it as an AWS credentials file (~/.aws/credentials)")
			fmt.Fprintf(stdout, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", *name, id, secret)
			return nil
		}
		key, k, err := c.CreateKey(ctx, *name, p)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "the key is shown this once; the server keeps only its hash")
		return writeJSON(stdout, struct {
			Key string `json:"key"`
			keyRecord
		}{key, *k})
	}}
}

// keyRecord puts a key's record beside the key itself ("key") in one
// object, as the server answers.
type keyRecord = perch.Key

// policyJSON is what --policy names, as the server takes it: a policy
// file's JSON, or a ready-made policy's name as a JSON string; nil for
// none.
func policyJSON(arg string) (json.RawMessage, error) {
	switch {
	case arg == "":
		return nil, nil
	case !strings.ContainsAny(arg, "/.") && !fileExists(arg):
		return json.Marshal(arg)
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return nil, prefix(arg, err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s: not JSON", arg)
	}
	return b, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func keyPolicySet() subcommand {
	const usage = "perch keys policy ID (FILE|admin|trainer|predictor|reader)"
	return subcommand{"policy", usage, "replace what a key may do", func(args []string, _ io.Reader, stdout, _ io.Writer) error {
		fs := flag.NewFlagSet("keys policy", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		pos, err := parseSub(fs, usage, args, stdout)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usagef("want a key ID and a policy (usage: %s)", usage)
		}
		p, err := policyJSON(pos[1])
		if err != nil {
			return err
		}
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		k, err := c.SetKeyPolicy(ctx, pos[0], p)
		if err != nil {
			return err
		}
		return writeJSON(stdout, k)
	}}
}
