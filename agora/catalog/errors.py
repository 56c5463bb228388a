from agora.core.errors import Conflict, NotFound, ValidationFailed


class ProductNotFound(NotFound):
    code = "product_not_found"


class VariantNotFound(NotFound):
    code = "variant_not_found"


class CategoryNotFound(NotFound):
    code = "category_not_found"


class ProductInvalid(ValidationFailed):
    code = "product_invalid"


class SkuTaken(Conflict):
    code = "sku_taken"


class ProductSlugTaken(Conflict):
    code = "slug_taken"


class CannotPublish(ValidationFailed):
    code = "cannot_publish"


class ProductInUse(Conflict):
    """Records that must outlive the product point at it (teams of a group deal): it can only be unpublished."""

    code = "product_in_use"
