package main

import (
	"context"
	"flag"
	"fmt"
	"io"

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
		idCmd("keys", "delete", "revoke a key, by the ID keys list shows", func(c *client.Client) func(context.Context, string) (*perch.Key, error) {
			return c.DeleteKey
		}),
	}, args, stdin, stdout, stderr)
}

func keyCreate() subcommand {
	const usage = "perch keys create --name NAME [--aws]"
	return subcommand{"create", usage, "make an API key (with the root key); it is printed this once", func(args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
		var rm remote
		rm.flags(fs)
		name := fs.String("name", "", "what the key is for, as lists show it")
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
		c, err := rm.client()
		if err != nil {
			return err
		}
		ctx, stop := remoteContext()
		defer stop()
		if *aws {
			id, secret, _, err := c.CreateAWSKey(ctx, *name)
			if err != nil {
				return err
			}
			fmt.Fprintln(stderr, "the secret is shown this once; save it as an AWS credentials file (~/.aws/credentials)")
			fmt.Fprintf(stdout, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", *name, id, secret)
			return nil
		}
		key, k, err := c.CreateKey(ctx, *name)
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
