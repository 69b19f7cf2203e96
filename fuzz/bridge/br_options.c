/*
 * br_options.c
 *	  Fuzzes the bridge's option parsing (options.c): the input's first
 *	  byte picks an option, the rest is its value as a flag, a variable or
 *	  a config file would give it; and the whole input as a
 *	  VOLTPAY_PROPERTIES list.  Never a crash, a leak or an overread; an
 *	  accepted property always has a name.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "util.h"

int			LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
free_conf(VbConfig *c)
{
	free(c->brokers);
	free(c->group);
	free(c->input_topic);
	free(c->read_topic);
	free(c->email_topic);
	free(c->dead_letter_topic);
	free(c->db);
	free(c->db_role);
	free(c->http_addr);
	free(c->config_file);
	free(c->zipkin_url);
	for (int i = 0; i < c->nprops; i++)
	{
		if (!c->props[i].name[0])
			abort();
		free(c->props[i].name);
		free(c->props[i].value);
	}
	free(c->props);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	VbConfig	c;
	char		err[512];
	char	   *s;
	const VbOpt *o;

	if (size < 1)
		return 0;
	vb_log_set_level(VB_LOG_ERROR + 1);
	s = vb_xmemdup0(data + 1, size - 1);
	memset(&c, 0, sizeof(c));
	o = &vb_opts[data[0] % vb_nopts];
	/* A file is not opened: the properties file's parser is fed below. */
	if (o->id != VB_OPT_PROPERTIES_FILE && o->id != VB_OPT_HELP && o->id != VB_OPT_VERSION)
		(void) vb_opt_set(&c, o, o->has_arg ? s : NULL, err, sizeof(err));
	(void) vb_opt_split_list(&c, s, err, sizeof(err));
	free_conf(&c);
	free(s);
	return 0;
}
