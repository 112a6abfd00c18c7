/*
 * errors.c - wire code and text for each enum cg_err, from the one table
 * in errors.h. API: cg_err_code, cg_err_text.
 */
#include "errors.h"

static const char *const err_codes[] = {
    "ok",
#define CG_ERR_CODE(name, code, text) code,
    CHATGW_ERRNO_MAP(CG_ERR_CODE)
#undef CG_ERR_CODE
};

static const char *const err_texts[] = {
    "ok",
#define CG_ERR_TEXT(name, code, text) text,
    CHATGW_ERRNO_MAP(CG_ERR_TEXT)
#undef CG_ERR_TEXT
};

const char *cg_err_code(enum cg_err e)
{
    return (unsigned)e < CG_E__COUNT ? err_codes[e] : "internal";
}

const char *cg_err_text(enum cg_err e)
{
    return (unsigned)e < CG_E__COUNT ? err_texts[e] : "internal error";
}
