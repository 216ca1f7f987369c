import factory
from django.utils import timezone

from stores.models import Connection, Shop


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    domain = factory.Sequence(lambda n: f"shop-{n}.myshopify.com")
    name = factory.Sequence(lambda n: f"Shop {n}")
    installed_at = factory.LazyFunction(timezone.now)
    access_token = "shpat_test"


class SourceFactory(ShopFactory):
    role = Shop.Role.SOURCE
    store_key = factory.Sequence(lambda n: f"syncer_testkey{n:06d}")


class DestinationFactory(ShopFactory):
    role = Shop.Role.DESTINATION


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    source = factory.SubFactory(SourceFactory)
    destination = factory.SubFactory(DestinationFactory)
    connected_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyFunction(timezone.now)
