"""`{% load public_links %}{% customer_account_url customer %}` for the order email templates."""

from django import template

from orders.links import customer_account_url as _customer_account_url

register = template.Library()


@register.simple_tag
def customer_account_url(customer) -> str:
    return _customer_account_url(customer) if customer is not None else ""
