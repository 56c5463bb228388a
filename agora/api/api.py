from ninja import NinjaAPI

api = NinjaAPI(title="Agora API", version="1", urls_namespace="api")
